"""Scenario: one question — a model on a cluster, with a training setup and a parallel plan
([training] + [parallelism]) or a serving setup ([serving]).

Built from a plain dict (or a TOML file with the same tables) and validated on
construction. Every error names the field, the value given and what is allowed; unknown
keys and catalog names come with the nearest valid spelling.

>>> import infra_lab as il
>>> sc = il.Scenario.from_dict({
...     "model": {"preset": "llama3-8b"},
...     "hardware": {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"},
...     "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2},
... })
>>> sc.parallelism.dp, sc.hardware.world_size
(16, 16)
"""

from __future__ import annotations

import contextvars
import functools
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import catalog
from .errors import ValidationError, nearest, unknown

SCENARIO_DIR = catalog.DATA_DIR / "scenarios"

FABRICS = ("rails-only", "rail-optimized", "fat-tree")
PRECISIONS = ("bf16", "fp16", "fp8")
RECOMPUTE = ("none", "selective", "full")
RECOMPUTE_MODULES = ("core_attn", "moe_act", "layernorm", "mla_up_proj", "mlp", "moe", "shared_experts")
"""Megatron-Core's ``--recompute-modules`` (selective recomputation of named submodules,
``TransformerConfig.recompute_modules``, default ["core_attn"]): the attention core, the MoE
experts' activation function, the input and pre-MLP layernorms, MLA's up-projections, the dense
MLP, the whole MoE layer (dispatch and combine included), the shared experts."""
OFFLOAD_MODULES = ("attn_norm", "qkv_linear", "core_attn", "attn_proj", "mlp_norm", "expert_fc1", "moe_act")
"""Megatron-Core's fine-grained activation offloading (``--fine-grained-activation-offloading
--offload-modules ...``, ``TransformerConfig.offload_modules``): the submodules whose saved
inputs are copied to host memory during forward and reloaded before their backward — the
attention's input norm, the QKV projection, the attention core, the attention output
projection, the pre-MLP norm, the routed experts' FC1 and the experts' activation function
(https://github.com/NVIDIA/Megatron-LM/blob/main/docs/user-guide/features/fine_grained_activation_offloading.md).
Megatron's ``fused_group_mlp`` (TE op fuser) and ``gdp_qkv`` (gated delta product) are not
modelled."""
OPTIMIZERS = ("adamw", "adam", "adamw-bf16", "muon", "sgd")
ENCODER_MODES = ("trained", "frozen")
ENGINES = ("vllm", "sglang", "trt-llm", "atom")
FP8_SCALINGS = ("tensor", "row", "block")
"""training.fp8_scaling values: the operand scaling of the FP8 recipe (the compute model's
``layer_ops(scaling=...)``, :data:`infra_lab.compute.SCALINGS`)."""

WEIGHT_PRECISIONS = ("bf16", "fp8", "fp4")
KV_PRECISIONS = ("bf16", "fp8")
SPEC_DECODING = ("none", "mtp")
BATCHING = ("continuous", "static")


def _check_keys(table: str, given: dict, valid: set[str] | list[str]) -> None:
    if not isinstance(given, dict):
        raise ValidationError(f"[{table}] = {given!r}: expected a table (dict)")
    for k in given:
        if k not in valid:
            raise unknown("key", f"{table}.{k}" if table else k, [f"{table}.{v}" if table else v for v in valid])


def _py(v: Any) -> Any:
    """A numpy scalar (np.int64 from a frame or an arange, np.float32, np.bool_) as the Python
    number or bool it holds, so it is checked and stored like one; anything else as is.
    (numpy is not imported here: ``import infra_lab`` stays light.)"""
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0 and hasattr(v, "item"):
        return v.item()
    return v


SERVING_BOUNDS = (
    ("input_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("output_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("chunk_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("concurrency", 2**20, "requests in flight in one deployment: a library bound, 1,024 x the largest "
                           "concurrency serve_search tries by default"),
    ("num_prompts", 2**30, "requests one benchmark sends"),
)
"""(field, largest value, why) of the [serving] table's sizes: generous physical bounds, so an
absurd value (concurrency 10**9) is refused rather than priced."""


def _int(field_: str, v: Any, minimum: int = 1) -> int:
    v = _py(v)
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            or float(v) != int(v)):
        raise ValidationError(f"{field_} = {v!r}: expected an integer >= {minimum}")
    if int(v) < minimum:
        raise ValidationError(f"{field_} = {v!r}: must be an integer >= {minimum}")
    return int(v)


def _stack_name(v: Any) -> str | None:
    if v is None:
        return None
    from . import stacks

    return stacks.canonical(v, "training", where="training.stack")


def _data_mix(v: Any):
    if v is None:
        return None
    from .multimodal import DataMix

    return DataMix.from_dict(v)


def _bool(field_: str, v: Any) -> bool:
    v = _py(v)
    if not isinstance(v, bool):
        raise ValidationError(f"{field_} = {v!r}: expected true or false")
    return v


def _enum(field_: str, v: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v.lower() not in allowed:
        raise unknown(field_.split(".")[-1] + " value", v, allowed, where=field_)
    return v.lower()


# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HardwareConfig:
    """The [hardware] table: which accelerator, how many, how they are joined.

    Validated on construction, whether built from a dict (:meth:`from_dict`) or directly
    (``HardwareConfig("MI300X", nodes=0)`` raises :class:`ValidationError`); defaults
    (``None``) are resolved, so a built object has no ``None`` fields.

    Attributes
    ----------
    accelerator : catalog name (canonical after validation); required: a table or call
        without it is refused rather than read as some default accelerator
    nodes : number of nodes (servers, or compute trays of a rack-scale system) [-]; default 1
    gpus_per_node : accelerators the job uses in each node [-]; at most the node's physical
        GPUs (``data/network_platforms.csv``: 8 for MI300X/H100/B200, 4 per GB200 tray);
        default 8
    scaleup_domain : accelerators in the PHYSICAL scale-up domain (xGMI mesh, NVLink/NVSwitch
        node, 72 for an NVL72 rack) [-]; at most the catalog's domain. Default:
        gpus_per_node, or the catalog's domain for rack-scale parts whose domain spans
        nodes (GB200/GB300). It may exceed what the job uses: ``gpus_per_node = 2,
        scaleup_domain = 8`` on MI300X is a 2-GPU job on an 8-GPU node (one xGMI link joins
        its two GPUs); ``nodes = 2, gpus_per_node = 4, scaleup_domain = 72`` on GB200 is an
        8-GPU job inside one NVL72 rack (full NVLink among its 8). See ``domain_gpus``.
    nic : catalog NIC name; default "Pollara-400" (name the NIC for any other platform)
    nics_per_node : back-end NICs the job's GPUs of a node use [-] (default gpus_per_node;
        at most 4 per GPU)
    fabric : "rails-only" | "rail-optimized" | "fat-tree"
    oversubscription : fabric oversubscription ratio (1.0 = non-blocking, at most 16) [-]
    host_cpu : host CPU (``data/network_host_cpus.csv``); its vendor sets NCCL/RCCL's
        per-message network overhead. Default: the accelerator's reference platform
    pxn : PXN (forwarding cross-rail traffic through the scale-up fabric to the NIC of the
        destination's rail) on or off. Default: the library's default — on for NCCL
        (``NCCL_PXN_DISABLE=0``), off for RCCL (ROCm/rccl#1209)
    sharp : the scale-out switches reduce in-network (InfiniBand SHARP); enables NCCL's
        CollNet algorithms and multi-node NVLS. Default false
    domain_gpus : the job's GPUs in each scale-up domain [-] (what a collective's ``k`` may
        reach). Default: scaleup_domain when a node holds several domains; gpus_per_node for
        part of one node's domain (2 of an MI300X node's 8); gpus_per_node × the job's nodes in
        a rack-scale domain (NVL72), up to a full rack. Set it for partial racks: 64 trays × 4
        GB200 with 16 of each rack's 18 trays → domain_gpus = 64 (4 racks)

    Physical bounds (refused with a ValidationError): world size at most
    ``max_world_gpus`` (10^6, Ultra Ethernet's design target), gpus_per_node within the
    node, scaleup_domain within the catalog's domain, nics_per_node <= 4 x gpus_per_node,
    1 <= oversubscription <= 16 (``data/network_constants.csv``).
    """

    accelerator: str | None = None
    nodes: int = 1
    gpus_per_node: int = 8
    scaleup_domain: int | None = None
    nic: str = "Pollara-400"
    nics_per_node: int | None = None
    fabric: str = "rail-optimized"
    oversubscription: float = 1.0
    host_cpu: str | None = None
    pxn: bool | None = None
    sharp: bool = False
    domain_gpus: int | None = None

    KEYS = ("accelerator", "nodes", "gpus_per_node", "scaleup_domain", "nic", "nics_per_node",
            "fabric", "oversubscription", "host_cpu", "pxn", "sharp", "domain_gpus")

    def __post_init__(self) -> None:
        from . import fabric as _fab  # lazy: fabric imports this module

        put = object.__setattr__
        if self.accelerator is None:
            raise ValidationError(
                "hardware.accelerator: required (no default accelerator); give a catalog name, one of "
                f"{', '.join(catalog.accelerator_names())} (aliases such as 'MI300X' or 'H100' work)")
        for name in ("accelerator", "nic"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError(f"hardware.{name} = {getattr(self, name)!r}: expected a catalog name (string)")
        acc = catalog.canonical_accelerator(self.accelerator)
        put(self, "accelerator", acc)
        put(self, "nic", catalog.canonical_nic(self.nic))
        spec = catalog.accelerator(acc)
        plat = _fab.platform(acc)
        cap = _fab.constant
        nodes = _int("hardware.nodes", self.nodes)
        gpn = _int("hardware.gpus_per_node", self.gpus_per_node)
        max_gpn = spec.scaleup_domain if spec.scaleup_domain > plat["node_gpus"] else plat["node_gpus"]
        if gpn > max_gpn:
            raise ValidationError(
                f"hardware.gpus_per_node = {gpn}: a {acc} node holds at most {max_gpn} GPUs "
                f"(network_platforms.csv / accelerators.csv); allowed 1..{max_gpn}"
            )
        max_world = int(cap("max_world_gpus"))
        if nodes * gpn > max_world:
            raise ValidationError(
                f"hardware.nodes = {nodes}: {nodes} x {gpn} GPUs exceeds the {max_world:,}-GPU bound "
                f"(max_world_gpus in network_constants.csv); allowed nodes <= {max_world // gpn:,}"
            )
        sud = self.scaleup_domain
        if sud is None:
            sud = spec.scaleup_domain if spec.scaleup_domain > plat["node_gpus"] else gpn
        sud = _int("hardware.scaleup_domain", sud)
        if sud > spec.scaleup_domain:
            raise ValidationError(
                f"hardware.scaleup_domain = {sud}: the {acc} scale-up domain ({spec.scaleup_tech}) "
                f"holds at most {spec.scaleup_domain} GPUs; allowed 1..{spec.scaleup_domain}"
            )
        if sud < gpn and gpn % sud:
            raise ValidationError(f"hardware.scaleup_domain = {sud}: must divide gpus_per_node = {gpn} "
                                  f"when smaller than it (a node of several domains)")
        node = plat["node_gpus"]
        if sud <= gpn:
            dg_default = sud                      # a node of one or several domains
        elif sud <= node:
            dg_default = gpn                      # part of one physical node's domain
        else:                                     # a rack-scale domain spanning nodes (NVL72)
            unit = max(gpn, node)
            if sud % unit:
                raise ValidationError(
                    f"hardware.scaleup_domain = {sud}: a domain spanning nodes must hold whole nodes of "
                    f"{unit} GPUs; allowed multiples of {unit} up to {spec.scaleup_domain}"
                )
            dg_default = gpn * min(nodes, sud // unit)
        if self.domain_gpus is None:
            dg = dg_default
        else:
            dg = _int("hardware.domain_gpus", self.domain_gpus)
            if sud <= node and dg != dg_default:
                raise ValidationError(
                    f"hardware.domain_gpus = {dg}: inside one node the job's GPUs per scale-up domain follow "
                    f"from gpus_per_node and scaleup_domain; allowed {dg_default} (or leave it out)"
                )
            per_max = sud // max(gpn, node) * gpn
            if sud > node and (dg % gpn or dg > per_max):
                raise ValidationError(
                    f"hardware.domain_gpus = {dg}: a rack-scale domain holds whole nodes of the job: "
                    f"allowed multiples of gpus_per_node = {gpn} up to {per_max}"
                )
        if (nodes * gpn) % dg:
            raise ValidationError(
                f"hardware.nodes = {nodes}: {nodes} x {gpn} GPUs do not fill whole scale-up domains of "
                f"{dg} of the job's GPUs; use a multiple of {dg // gpn if dg >= gpn else 1} nodes or set "
                f"hardware.domain_gpus (e.g. 64 when 16 of an NVL72's 18 trays are used)"
            )
        put(self, "domain_gpus", dg)
        put(self, "nodes", nodes)
        put(self, "gpus_per_node", gpn)
        put(self, "scaleup_domain", sud)
        npn = gpn if self.nics_per_node is None else _int("hardware.nics_per_node", self.nics_per_node)
        max_npg = int(cap("max_nics_per_gpu"))
        if npn > max_npg * gpn:
            raise ValidationError(
                f"hardware.nics_per_node = {npn}: at most {max_npg} back-end NICs per GPU "
                f"(max_nics_per_gpu); allowed 1..{max_npg * gpn} for {gpn} GPUs per node"
            )
        put(self, "nics_per_node", npn)
        put(self, "fabric", _enum("hardware.fabric", self.fabric, FABRICS))
        from . import _validate

        max_ov = cap("max_oversubscription")
        ov = _validate.number("hardware.oversubscription", self.oversubscription, lo=1.0, hi=max_ov,
                              allowed=f"in 1.0 (non-blocking) .. {max_ov:g} (max_oversubscription)")
        put(self, "oversubscription", float(ov))
        host = plat["default_host_cpu"] if self.host_cpu is None else self.host_cpu
        if not isinstance(host, str):
            raise ValidationError(f"hardware.host_cpu = {host!r}: expected a host CPU name (string)")
        put(self, "host_cpu", _fab.host_cpu(host)["name"])
        pxn = self.pxn
        if pxn is None:
            pxn = plat["library"] == "nccl"
        put(self, "pxn", _bool("hardware.pxn", pxn))
        _bool("hardware.sharp", self.sharp)

    @classmethod
    def from_dict(cls, d: dict) -> HardwareConfig:
        """Validate a [hardware] table (dict) or pass through an existing HardwareConfig."""
        if isinstance(d, HardwareConfig):
            return d
        _check_keys("hardware", d, cls.KEYS)
        return cls(**d)

    @property
    def world_size(self) -> int:
        """Total accelerators the job uses = nodes × gpus_per_node."""
        return self.nodes * self.gpus_per_node

    @property
    def domains(self) -> int:
        """Scale-up domains the job spans [-]."""
        return self.world_size // self.domain_gpus

    @property
    def accelerator_spec(self) -> catalog.Accelerator:
        return catalog.accelerator(self.accelerator)

    @property
    def nic_spec(self) -> catalog.Nic:
        return catalog.nic(self.nic)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


def as_hardware(hardware: Any, field_: str = "hardware") -> HardwareConfig:
    """The one coercion of "some hardware" to a validated :class:`HardwareConfig`.

    Accepts a HardwareConfig (returned as is: validated on construction), a Scenario or any
    object whose ``hardware`` attribute is a HardwareConfig (e.g. a ``fabric.Fabric``), or
    the [hardware] table as a dict (validated). Anything else raises ValidationError naming
    ``field_``. ``cluster``, ``fabric`` and ``reliability`` call this instead of keeping
    their own versions.

    Examples
    --------
    >>> as_hardware({"accelerator": "MI300X", "nodes": 2}).world_size
    16
    """
    if isinstance(hardware, HardwareConfig):
        return hardware
    inner = getattr(hardware, "hardware", None)
    if isinstance(inner, HardwareConfig):
        return inner
    if isinstance(hardware, dict):
        return HardwareConfig.from_dict(hardware)
    raise ValidationError(f"{field_} = {hardware!r}: expected a Scenario, a HardwareConfig or the "
                          "[hardware] table as a dict")


@dataclass(frozen=True)
class TrainingConfig:
    """The [training] table.

    seq_len [tokens], global_batch [sequences per optimizer step], micro_batch [sequences per
    micro-batch per data-parallel rank], precision, recompute, optimizer, stack (software
    stack name from :mod:`infra_lab.stacks`; None = the accelerator vendor's default, see
    :attr:`Scenario.stack`).

    Multimodal models (issue 20, :mod:`infra_lab.multimodal`): data_mix (token shares of
    text/image/audio, picture size, clip length, packing: a
    :class:`infra_lab.multimodal.DataMix`; None = all text) and encoder ("trained" |
    "frozen"; None = trained).

    MoE routing (how the run routes tokens, an input of the expert load imbalance):
    moe_routing "learned" (the router's own choices: the stack's ``moe_popularity_cv`` spread
    of expert popularity plus sampling noise) | "balanced" (benchmark runs with Megatron's
    ``--moe-router-force-load-balancing``: uniform routing, sampling noise only);
    moe_capacity_factor (token dropping at this capacity factor caps the busiest expert rank's
    load; None = dropless).

    recompute_modules (Megatron-Core's ``--recompute-modules``, :data:`RECOMPUTE_MODULES`; only
    with recompute = "selective"): the submodules recomputed in backward instead of storing their
    outputs. None = the stack's selective set (the attention core for Megatron stacks, per-op
    selective checkpointing for torchtitan).

    The loss (memory of the output layer's logits, :func:`infra_lab.memory.loss_logits_bytes`):
    loss_fusion (True: a fused cross-entropy kernel that reads the 16-bit logits and writes
    their gradient in place — Megatron-Core ``--cross-entropy-loss-fusion``, Transformer
    Engine's parallel cross entropy; False: the logits are up-cast to an fp32 copy) and
    loss_chunks (the output layer and loss run over this many slices of the tokens, so only
    one slice of logits is live: chunked / fused-linear cross entropy; 1 = all at once) and
    loss_compiled (True: the loss runs under torch.compile, one Inductor graph that keeps the
    16-bit logits and writes their 16-bit gradient out of place, no fp32 copies — torchtitan
    with compile on since its PR #1033).

    moe_host_sync: the run's MoE layers are host-bound — eager launches without the fused
    router/permutation kernels, CUDA graphs or a sync-free MoE path, and a device-to-host copy of
    the token counts every layer (all-to-all splits, grouped-GEMM sizes) that drains the GPU
    queue; the MoE layers' GPU time (forward, backward, recomputation) then grows by the stack's
    ``moe_host_sync_slowdown`` fraction, and a fixed host wait ``moe_host_sync_s`` per MoE layer
    and micro-batch is added (0 in the shipped stacks). The ablation baselines of published
    optimisation studies run so (Primus "no MoE features", Megatron-Core's GB200 DeepSeek-V3
    baseline without CUDA graphs). False (default): the GPU is never starved. APPROXIMATE: one
    slowdown for every host and model, in proportion to the layers' work; at small micro-batches
    the host's launch time is a floor above the GPU time instead (max(host, GPU time);
    docs/validation.md, host-bound MoE layers), which no train run sets and which is not modelled.

    fp8_param_gather (FP8 training on Transformer Engine stacks: Megatron-Core
    ``--fp8-param-gather``, the primary weights are FP8 only; False = "dual precision weights",
    a cached FP8 copy beside each 16-bit weight, :func:`infra_lab.memory.fp8_weight_copy_bytes`).

    offload_modules (Megatron-Core's fine-grained activation offloading, ``--offload-modules``
    with ``--fine-grained-activation-offloading``; :data:`OFFLOAD_MODULES`): the submodules whose
    saved inputs go to host memory in forward and come back before their backward. They leave
    the GPU's activation peak (:func:`infra_lab.memory.offloaded_bytes_per_layer`) and cost
    host-link time (:func:`infra_lab.catalog.host_link_bytes_per_s`): the reloads hide under
    the stage's backward and what does not fit stalls it
    (:func:`infra_lab._kernels.training.offload_exposed`). None (default) = no offloading. Megatron's rules apply: ``attn_proj`` only
    with ``core_attn``; ``expert_fc1`` / ``moe_act`` not with the ``moe`` recompute module.

    eager: the model runs in PyTorch eager mode (torchtitan with ``compile = false``): its
    element-wise ops (norms, RoPE, activations, residual adds, the loss) run unfused, one kernel
    per op, so memory-bound op time is the stack's ``memory_time_scale`` times its
    ``eager_memory_factor`` (1 for stacks whose element-wise kernels are fused without a
    compiler, Megatron-Core's). False (default): compiled or fused, as the stacks are fitted.

    sac_recompute_attention: under per-op selective activation checkpointing (stacks with
    ``selective_recompute`` = 1, torchtitan's ``selective_ac_option = "op"``) the attention
    kernel's output is not in the policy's save list, so the attention forward runs again in
    backward. torchtitan's ``_op_sac_save_list`` held only the flash and memory-efficient SDPA
    ops until PR #2095 (2025-12-01) added cuDNN's, while torchtitan put cuDNN attention first on
    compute capability 10.0 since PR #1196 (2025-05): Blackwell runs of that window recompute
    it. False (default): the attention output is saved (the save list has the kernel).

    pp_free_stage_buffers: the run frees its pipeline stages' input and output tensors when no
    longer used (Llama 3 §3.3.2: "we proactively deallocate tensors that will not be used for
    future computation, including the input and output tensors of each pipeline stage"), so a
    stack whose pipelining keeps a buffer per micro-batch (``pp_stage_buffers_persistent`` = 1,
    PyTorch pipelining) holds none beyond the layers' saved activations. False (default): the
    stack's behaviour (Megatron frees them anyway: ``deallocate_output_tensor``, receive buffers
    allocated per transfer).

    fp8_scaling (FP8 only, :data:`FP8_SCALINGS`): "tensor" (default: per-tensor scales, one cast
    per operand serves both of its GEMMs), "row" (torchao's float8 rowwise recipe: every operand
    quantized again along its other axis, backward GEMMs rescaled element-wise afterwards) or
    "block" (torchao's MXFP8 recipes: per-axis 1×32-block casts in separate kernels); priced by
    :func:`infra_lab.compute.layer_ops` (``scaling``).

    recompute_num_layers (only with recompute = "full"; Megatron's ``--recompute-granularity full
    --recompute-method block --recompute-num-layers N``): the first N layers of each pipeline
    chunk (each virtual stage under the interleaved schedule) are recomputed whole in backward
    and keep only their input; the chunk's other layers keep their full activations and are
    not recomputed. A chunk of fewer than N layers recomputes all of them, as Megatron-Core's
    ``TransformerBlock._checkpointed_forward`` does (its loop runs over the chunk's layers and
    checkpoints those below N; no error):
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_block.py#L544-L565
    (core_v0.16.0). An integer 1..the model's layers; None (default) = every layer. Megatron
    stacks only (torchtitan's full activation checkpointing has no such count). Not with
    offload_modules (not modelled together) nor with parallelism.ep_overlap (Megatron-Core
    refuses --recompute-num-layers with --overlap-moe-expert-parallel-comm).
    :func:`infra_lab.search` prices its "full" plans with it (its ``recompute_num_layers``
    column). The number means the block method only:
    Megatron's ``--recompute-method uniform --recompute-num-layers N`` recomputes every layer and
    keeps one input per group of N layers, so uniform with 1 is this field left out (every layer)
    and uniform with N > 1 is not modelled (same time as every layer, less stored, a larger
    working set). A model's multi-token-prediction modules are not recomputed when the field is
    set (Megatron-Core skips MTP recompute under the block method, with a warning) and are
    recomputed whole when it is absent: :func:`infra_lab.memory.mtp_modules_recomputed`.
    """

    seq_len: int = 4096
    global_batch: int = 1024
    micro_batch: int = 1
    precision: str = "bf16"
    recompute: str = "none"
    optimizer: str = "adamw"
    stack: str | None = None
    data_mix: Any = None
    encoder: str | None = None
    moe_routing: str = "learned"
    moe_capacity_factor: float | None = None
    recompute_modules: tuple | None = None
    loss_fusion: bool = False
    loss_chunks: int = 1
    loss_compiled: bool = False
    moe_host_sync: bool = False
    fp8_param_gather: bool = False
    offload_modules: tuple | None = None
    eager: bool = False
    sac_recompute_attention: bool = False
    pp_free_stage_buffers: bool = False
    fp8_scaling: str = "tensor"
    recompute_num_layers: int | None = None

    KEYS = ("seq_len", "global_batch", "micro_batch", "precision", "recompute", "optimizer", "stack",
            "data_mix", "encoder", "moe_routing", "moe_capacity_factor", "recompute_modules",
            "loss_fusion", "loss_chunks", "moe_host_sync", "fp8_param_gather", "offload_modules", "eager",
            "loss_compiled", "sac_recompute_attention", "fp8_scaling", "pp_free_stage_buffers",
            "recompute_num_layers")

    def __post_init__(self) -> None:
        # built directly (``TrainingConfig(recompute="partial")``) or from a dict: the same checks
        put = object.__setattr__
        for k in ("seq_len", "global_batch", "micro_batch"):
            put(self, k, _int(f"training.{k}", getattr(self, k)))
        # the compute model's bounds (compute.layer_ops: s ≤ 2^24 tokens, b ≤ 2^16 sequences)
        for k, hi in (("seq_len", 2**24), ("global_batch", 2**24), ("micro_batch", 2**16)):
            if getattr(self, k) > hi:
                raise ValidationError(f"training.{k} = {getattr(self, k)!r}: allowed 1..{hi:,}")
        put(self, "precision", _enum("training.precision", self.precision, PRECISIONS))
        put(self, "recompute", _enum("training.recompute", self.recompute, RECOMPUTE))
        put(self, "optimizer", _enum("training.optimizer", self.optimizer, OPTIMIZERS))
        put(self, "stack", _stack_name(self.stack))
        put(self, "data_mix", _data_mix(self.data_mix))
        put(self, "encoder", None if self.encoder is None else _enum("training.encoder", self.encoder,
                                                                      ENCODER_MODES))
        put(self, "moe_routing", _enum("training.moe_routing", self.moe_routing, MOE_ROUTINGS))
        put(self, "moe_capacity_factor", _capacity_factor(self.moe_capacity_factor))
        put(self, "recompute_modules", _recompute_modules(self.recompute_modules, self.recompute))
        put(self, "offload_modules", _offload_modules(self.offload_modules, self.recompute_modules))
        for k in ("fp8_param_gather", "loss_fusion", "loss_compiled"):
            _bool(f"training.{k}", getattr(self, k))
        put(self, "loss_chunks", _int("training.loss_chunks", self.loss_chunks))
        if self.loss_chunks > 2**16:
            raise ValidationError(f"training.loss_chunks = {self.loss_chunks!r}: allowed 1..65,536")
        for k in ("moe_host_sync", "eager", "sac_recompute_attention", "pp_free_stage_buffers"):
            _bool(f"training.{k}", getattr(self, k))
        put(self, "fp8_scaling", _enum("training.fp8_scaling", self.fp8_scaling, FP8_SCALINGS))
        put(self, "recompute_num_layers", check_recompute_num_layers(_py(self.recompute_num_layers)))
        if self.recompute_num_layers is not None and self.recompute != "full":
            raise ValidationError(f"training.recompute_num_layers = {self.recompute_num_layers!r} with "
                                  f"training.recompute = {self.recompute!r}: the layers recomputed whole are "
                                  "Megatron's full recomputation (--recompute-granularity full --recompute-method "
                                  "block); allowed only with recompute = 'full' (leave it out otherwise)")
        if self.recompute_num_layers is not None and self.offload_modules is not None:
            raise ValidationError(f"training.recompute_num_layers = {self.recompute_num_layers!r} with "
                                  f"training.offload_modules = {list(self.offload_modules)!r}: activation offloading "
                                  "together with partial full recompute is not modelled; allowed: one of the two")

    @classmethod
    def from_dict(cls, d: dict) -> TrainingConfig:
        if isinstance(d, TrainingConfig):
            return d
        _check_keys("training", d, cls.KEYS)
        return cls(**d)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.KEYS}
        if self.data_mix is not None:
            d["data_mix"] = self.data_mix.to_dict()
        if self.recompute_modules is not None:
            d["recompute_modules"] = list(self.recompute_modules)
        if self.offload_modules is not None:
            d["offload_modules"] = list(self.offload_modules)
        return d


def _module_list(v, field: str, allowed: tuple[str, ...], noun: str) -> tuple[str, ...]:
    """A non-empty list of distinct names from ``allowed`` for ``training.<field>``."""
    if isinstance(v, str) or not isinstance(v, (list, tuple)) or not v:
        raise ValidationError(f"training.{field} = {v!r:.80}: expected a non-empty list of module names "
                              f"from {', '.join(allowed)}")
    for x in v:
        if not isinstance(x, str) or x not in allowed:
            raise unknown(noun, x, allowed, where=f"training.{field}")
    if len(set(v)) != len(v):
        raise ValidationError(f"training.{field} = {list(v)!r}: a module is named twice")
    return tuple(v)


def check_recompute_num_layers(value, where: str = "training.recompute_num_layers", layers: int | None = None):
    """``training.recompute_num_layers`` checked: None (every layer) or an int >= 1 (at most the
    model's ``layers`` when given); returns it as an int (or None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{where} = {value!r:.60}: expected an integer >= 1 (the first layers of each "
                              "pipeline chunk recomputed whole, Megatron's --recompute-num-layers with the block "
                              "method) or absent (every layer)")
    value = int(value)
    if value < 1:
        raise ValidationError(f"{where} = {value!r}: allowed an integer >= 1 (the first layers of each pipeline "
                              "chunk recomputed whole), or absent for every layer")
    if layers is not None and value > layers:
        raise ValidationError(f"{where} = {value!r}: more than the model's {layers} layers; allowed 1..{layers} "
                              f"(a value at or above a chunk's layers recomputes all of them; {layers} recomputes every "
                              "model layer, absent also the multi-token-prediction modules)")
    return value


def _recompute_modules(v, recompute: str):
    """training.recompute_modules: None (the stack's selective set) or a list of
    :data:`RECOMPUTE_MODULES` names, only with recompute = "selective"."""
    if v is None:
        return None
    v = _module_list(v, "recompute_modules", RECOMPUTE_MODULES, "recompute module")
    if recompute != "selective":
        raise ValidationError(f"training.recompute_modules = {list(v)!r} with training.recompute = {recompute!r}: "
                              "modules are Megatron-Core's selective recomputation; allowed only with "
                              "recompute = 'selective'")
    return v


def _offload_modules(v, recompute_modules):
    """training.offload_modules: None (no offloading) or a list of :data:`OFFLOAD_MODULES`
    names, with Megatron-Core's rules (TransformerConfig.__post_init__): ``attn_proj`` needs
    ``core_attn`` (its input is the attention core's output, which the core's backward needs);
    no ``expert_fc1`` / ``moe_act`` while the ``moe`` recompute module re-runs the whole layer."""
    if v is None:
        return None
    v = _module_list(v, "offload_modules", OFFLOAD_MODULES, "offload module")
    if "attn_proj" in v and "core_attn" not in v:
        raise ValidationError(f"training.offload_modules = {list(v)!r}: 'attn_proj' is allowed only together "
                              "with 'core_attn' (its input is the attention core's output, which the core's "
                              "backward needs on the GPU)")
    inside = sorted({"expert_fc1", "moe_act"} & set(v))
    if inside and recompute_modules is not None and "moe" in recompute_modules:
        raise ValidationError(f"training.offload_modules = {list(v)!r} with training.recompute_modules "
                              f"containing 'moe': {inside} sit inside the recomputed MoE layer, which stores "
                              "only its input; allowed: drop 'moe' from recompute_modules or these from "
                              "offload_modules")
    return v


MOE_ROUTINGS = ("learned", "balanced")
MOE_DISPATCHERS = ("alltoall", "deepep")
CP_ROTATE_METHODS = ("p2p", "allgather", "allgather-exposed")
"""Context-parallel K/V exchanges (``parallelism.cp_rotate``): a per-step P2P ring, one
all-gather per pass hidden behind the first ring step (PyTorch's experimental
context_parallel, rotate method "allgather"), or one exposed all-gather of K/V per pass
with one attention call over the gathered K/V and a reduce-scatter of dK/dV (Llama 3's CP,
§3.3.2)."""


def _capacity_factor(v):
    """training.moe_capacity_factor: None (dropless) or a real number 1..16."""
    if v is None:
        return None
    v = _py(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or not 1.0 <= v <= 16.0:
        raise ValidationError(f"training.moe_capacity_factor = {v!r}: expected a number from 1 to 16 "
                              "(token dropping at that capacity factor) or absent (dropless)")
    return float(v)


@dataclass(frozen=True)
class ParallelismConfig:
    """The [parallelism] table. dp is derived: world / (tp·pp·cp).

    ``ep`` (expert parallel) and ``etp`` (expert tensor parallel, default 1) lay the MoE
    layers out over the same tp·cp·dp ranks as the attention layers (Megatron-Core's MoE
    parallel folding): ep·etp must divide tp·cp·dp; the expert data-parallel size is
    tp·cp·dp/(ep·etp).

    ``moe_dispatcher`` ("alltoall": one NCCL/RCCL all-to-all of every routed copy, Megatron-Core's
    default; "deepep": DeepEP / Megatron's flex dispatcher / HybridEP, each token sent once per
    destination node then fanned out over the scale-up fabric) and ``ep_overlap`` (the dispatch
    and combine overlapped with another micro-batch's compute: Megatron's
    ``--overlap-moe-expert-parallel-comm``, DualPipe; the achieved fraction is the stack's
    ``ep_comm_overlap``) are library choices of the run, not searched. So is ``tp_async``: the
    run overlaps its tensor-parallel collectives with the neighbouring GEMMs by decomposing them
    (PyTorch's async TP / torch.compile micro-pipelining, torchtitan's
    ``enable_async_tensor_parallel``); the achieved fraction is the stack's
    ``tp_async_comm_overlap`` in place of its ``tp_comm_overlap``. It needs tp > 1. ``dualpipe``
    says the overlap is DeepSeek's DualPipe schedule (forward and backward chunks of two
    micro-batches paired so that each one's dispatch and combine run under the other's compute;
    DeepSeek-V3 report §3.2.1): its achieved fraction is the stack's
    ``dualpipe_ep_comm_overlap`` in place of ``ep_comm_overlap`` (Megatron-Core's 1F1B
    all-to-all overlap). It needs ``ep_overlap``; only the overlap fraction changes (the
    pipeline bubble is priced as the run's pp/vp schedule, an approximation for DualPipe; so is
    the layout: the output head and any MTP modules sit on the last stage, where DualPipe's
    V-shaped placement puts them on the rank that also holds the embedding).

    ``cp_rotate`` is how the context-parallel ranks exchange K and V: "p2p" (default; a ring
    that passes K/V to the next rank at every attention step, Megatron-Core / Transformer
    Engine) or "allgather" (PyTorch's experimental ``context_parallel`` with rotate method
    "allgather", torchtitan's default: K/V all-gathered once per pass, dK/dV passed on in
    fp32 after every backward step; :func:`infra_lab._kernels.training.cp_exposed`; its memory,
    one layer's all-gathered K/V and fp32 buffers: :func:`infra_lab._kernels.memory.cp_attention_bytes`)
    or "allgather-exposed" (Llama 3's CP, Llama 3 paper §3.3.2,
    https://arxiv.org/abs/2407.21783, and Transformer Engine's ``cp_comm_type="all_gather"``
    that cites it: every pass all-gathers K/V at the K/V heads' width, on the critical path,
    and computes the local queries' attention over them in one call; the backward
    all-gathers K/V again and reduce-scatters dK/dV in the activation precision).
    ``cp_repeat_kv``: the model repeats the K/V heads to the query heads before the attention
    call (torchtitan's Llama code, ``repeat_kv``), so the exchange carries K/V at the query
    heads' width. Both are library choices of the run, not searched."""

    tp: int = 1
    pp: int = 1
    vp: int = 1
    cp: int = 1
    ep: int = 1
    zero: int | None = None     # None: 1 (Megatron's distributed optimizer), or 3 with fsdp
    sequence_parallel: bool = False
    fsdp: bool = False
    etp: int = 1
    moe_dispatcher: str = "alltoall"
    ep_overlap: bool = False
    tp_async: bool = False
    dualpipe: bool = False
    cp_rotate: str = "p2p"
    cp_repeat_kv: bool = False
    dp: int = field(default=1, compare=False)

    KEYS = ("tp", "pp", "vp", "cp", "ep", "zero", "sequence_parallel", "fsdp", "etp", "moe_dispatcher",
            "ep_overlap", "tp_async", "dualpipe", "cp_rotate", "cp_repeat_kv")

    def __post_init__(self) -> None:
        # built directly or from a dict: the same per-field checks (the world-size rules and
        # the derived dp are :meth:`from_dict`'s, which knows the world)
        put = object.__setattr__
        for k in ("tp", "pp", "vp", "cp", "ep", "etp", "dp"):
            put(self, k, _int(f"parallelism.{k}", getattr(self, k)))
        sp = _bool("parallelism.sequence_parallel", self.sequence_parallel)
        fsdp = _bool("parallelism.fsdp", self.fsdp)
        zero = _py(self.zero)
        if zero is None:          # left out: ZeRO-1, or full sharding (ZeRO-3) with FSDP
            zero = 3 if fsdp else 1
        put(self, "zero", zero)
        if isinstance(zero, bool) or not isinstance(zero, int) or not 0 <= zero <= 3:
            raise ValidationError(f"parallelism.zero = {zero!r}: allowed 0, 1, 2 or 3")
        if fsdp and zero != 3:
            raise ValidationError(
                f"parallelism.fsdp = true with parallelism.zero = {zero}: FSDP shards parameters, gradients "
                "and optimizer state (ZeRO-3); allowed zero = 3 with fsdp (or leave zero out)")
        put(self, "moe_dispatcher", _enum("parallelism.moe_dispatcher", self.moe_dispatcher, MOE_DISPATCHERS))
        put(self, "cp_rotate", _enum("parallelism.cp_rotate", self.cp_rotate, CP_ROTATE_METHODS))
        _bool("parallelism.cp_repeat_kv", self.cp_repeat_kv)
        if _bool("parallelism.dualpipe", self.dualpipe) and not _bool("parallelism.ep_overlap", self.ep_overlap):
            raise ValidationError("parallelism.dualpipe = true with parallelism.ep_overlap = false: DualPipe "
                                  "overlaps the dispatch and combine by construction; allowed ep_overlap = true with it")
        _bool("parallelism.ep_overlap", self.ep_overlap)
        if _bool("parallelism.tp_async", self.tp_async) and self.tp == 1:
            raise ValidationError("parallelism.tp_async = true: async tensor parallelism needs tp > 1 (tp = 1)")
        if self.vp > 1 and self.pp == 1:
            raise ValidationError(f"parallelism.vp = {self.vp}: interleaving needs pp > 1 (pp = 1)")
        if sp and self.tp == 1:
            raise ValidationError("parallelism.sequence_parallel = true: needs tp > 1 (tp = 1)")

    @classmethod
    def from_dict(cls, d: dict, world: int) -> ParallelismConfig:
        if isinstance(d, ParallelismConfig):
            d = d.to_dict()
        _check_keys("parallelism", d, cls.KEYS)
        base = cls(**d)                            # per-field checks (__post_init__)
        v = {k: getattr(base, k) for k in ("tp", "pp", "vp", "cp", "ep", "etp")}
        zero, sp, fsdp = base.zero, base.sequence_parallel, base.fsdp
        disp, epo, tpa, dpp = base.moe_dispatcher, base.ep_overlap, base.tp_async, base.dualpipe
        cpr, cpk = base.cp_rotate, base.cp_repeat_kv
        mp = v["tp"] * v["pp"] * v["cp"]
        if world % mp:
            raise ValidationError(
                f"parallelism: tp·pp·cp = {v['tp']}·{v['pp']}·{v['cp']} = {mp} does not divide the "
                f"world size {world} (nodes × gpus_per_node); allowed products are divisors of {world}"
            )
        dp = world // mp
        folded = v["tp"] * v["cp"] * dp
        if folded % (v["ep"] * v["etp"]):
            raise ValidationError(
                f"parallelism.ep·etp = {v['ep']}·{v['etp']}: the expert layout (Megatron-Core MoE parallel "
                f"folding) is carved out of the tp·cp·dp = {folded} ranks of a pipeline stage and must "
                f"divide it; allowed ep·etp: divisors of {folded}"
            )
        return cls(**v, zero=zero, sequence_parallel=sp, fsdp=fsdp, moe_dispatcher=disp, ep_overlap=epo,
                   tp_async=tpa, dualpipe=dpp, cp_rotate=cpr, cp_repeat_kv=cpk, dp=dp)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


@dataclass(frozen=True)
class ServingConfig:
    """The [serving] table: an inference deployment under continuous batching.

    Attributes
    ----------
    engine : "vllm" | "sglang" | "trt-llm" | "atom" (with the hardware's platform it names a
        software stack: ``<engine>-cuda`` or ``<engine>-rocm``)
    weight_precision : "bf16" | "fp8" | "fp4" (fp4 = the platform's block format: MXFP4 on
        AMD, NVFP4 on NVIDIA; models with MXFP4 experts keep them, e.g. gpt-oss)
    kv_precision : "bf16" | "fp8"
    attention_precision : "bf16" | "fp8" | "fp4" | None: the precision of the attention
        projection weights when the checkpoint keeps them apart from the rest (NVIDIA's
        nvidia/DeepSeek-R1-FP4 quantizes the MoE and MLP layers to NVFP4 and keeps attention in
        BF16); None = weight_precision
    mtp_precision : "bf16" | "fp8" | "fp4" | None: the precision of the MTP draft modules'
        weights (all their GEMMs: projection, attention, experts) when the checkpoint keeps
        them apart (TensorRT-LLM's DeepSeek-R1 NVFP4 recipe runs its MTP layers in BF16);
        None = as the main layers (attention_precision for attention, weight_precision else)
    tp, pp, dp : tensor-, pipeline- and data-parallel sizes; GPUs = tp·pp·dp [-]
    ep : expert-parallel size of the MoE layers [-]; divides tp (or tp·dp with dp_attention)
    dp_attention : attention data-parallel over the dp ranks with the MoE layers spread over
        all tp·dp GPUs (DeepSeek-style DP attention + EP); false = dp independent replicas
    spec_decoding : "none" | "mtp" (multi-token-prediction draft, verified each step)
    mtp_draft_tokens : draft tokens per step with MTP [-]
    mtp_acceptance : probability that each draft token is accepted [-] (None: the sourced
        default in data/serving/parameters.csv)
    input_tokens, output_tokens : mean prompt and generated lengths [tokens]
    concurrency : requests in flight across the deployment (a benchmark's max concurrency) [-]
    chunk_tokens : tokens per engine step (chunked-prefill budget) [tokens]; None = engine default
    images_per_request : pictures per request [-] (a mean; may be fractional), for a
        multimodal [model] only: the vision encoder's prefill
        (:func:`infra_lab.multimodal.encoder_prefill`) runs before the prompt's, and the prompt
        grows by the image positions
    image_size : picture side [px] or [height, width] (None: the vision encoder's own size)
    audio_s_per_request : seconds of speech per request [s], for a multimodal [model] with an
        audio encoder (as ``images_per_request``)
    encoder_batch : requests whose pictures/audio the engine encodes together [-] (fuller
        encoder GEMMs; ``encoder_prefill(batch=...)``)
    num_prompts : requests the benchmark sends in all [-]; None = steady state. With a
        finite number the first wave of ``concurrency`` requests arrives at once and its
        queueing adds to the mean TTFT.
    lockstep : closed-loop clients whose requests all have the same lengths stay in step:
        every wave of ``concurrency`` requests arrives at once, so EVERY request's TTFT
        includes the queue of its wave's prefills (not only the first wave of a finite
        benchmark, as without it). Benchmarks with fixed input/output lengths and
        ``--ignore-eos`` behave so; default false (arrivals spread out)
    batching : "continuous" (steady state of continuous batching at ``concurrency``, the
        default) or "static" (one batch of ``concurrency`` requests prefilled together and
        decoded together, as vLLM's benchmark_latency measures)
    request_rate_rps : open-loop arrival rate [requests/s]; None = closed loop at
        ``concurrency``. When given, the requests in flight follow from Little's law
        (in flight = rate × end-to-end latency), capped at ``concurrency``.
    stack : a specific serving stack of this engine (e.g. ``"vllm-rocm-early"``, an earlier
        software generation used to validate against older benchmarks); None = the
        engine's current stack on the hardware's platform
    """

    engine: str = "vllm"
    weight_precision: str = "bf16"
    kv_precision: str = "bf16"
    attention_precision: str | None = None
    mtp_precision: str | None = None
    tp: int = 1
    ep: int = 1
    pp: int = 1
    dp: int = 1
    dp_attention: bool = False
    spec_decoding: str = "none"
    mtp_draft_tokens: int = 1
    mtp_acceptance: float | None = None
    input_tokens: int = 1024
    output_tokens: int = 1024
    concurrency: int = 64
    chunk_tokens: int | None = None
    images_per_request: float = 0.0
    image_size: int | tuple[int, int] | None = None
    audio_s_per_request: float = 0.0
    encoder_batch: int = 1
    num_prompts: int | None = None
    lockstep: bool = False
    batching: str = "continuous"
    request_rate_rps: float | None = None
    stack: str | None = None

    KEYS = ("engine", "weight_precision", "kv_precision", "tp", "ep", "pp", "dp", "dp_attention",
            "spec_decoding", "mtp_draft_tokens", "mtp_acceptance", "input_tokens", "output_tokens",
            "concurrency", "chunk_tokens", "images_per_request", "image_size", "audio_s_per_request",
            "encoder_batch", "num_prompts", "lockstep", "batching", "request_rate_rps", "stack",
            "attention_precision", "mtp_precision")

    def __post_init__(self) -> None:
        # built directly (``ServingConfig(engine="foo")``) or by from_dict: validated the same way
        for k, val in _serving_values(self.to_dict()).items():
            object.__setattr__(self, k, val)

    @classmethod
    def from_dict(cls, d: dict) -> ServingConfig:
        """Validate a [serving] table (dict); an existing ServingConfig (validated when it was
        built) is returned as is."""
        if isinstance(d, ServingConfig):
            return d
        if isinstance(d, dict) and "encoder_flops_per_request" in d:
            raise ValidationError(
                "serving.encoder_flops_per_request: replaced by images_per_request / image_size / "
                "audio_s_per_request with a multimodal [model] (e.g. vision = \"qwen2.5-vl-vit\"); the encoder "
                "time comes from il.multimodal.encoder_prefill")
        _check_keys("serving", d, cls.KEYS)
        return cls(**d)

    @property
    def gpus(self) -> int:
        """GPUs of the deployment = tp·pp·dp."""
        return self.tp * self.pp * self.dp

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


def _image_size(x: Any) -> int | tuple[int, int] | None:
    """serving.image_size: None, a square side [px] or (height, width) [px]."""
    if x is None:
        return None
    from .multimodal.specs import MAX_IMAGE_SIDE_PX

    def side(name: str, v: Any) -> int:
        v = _int(name, v)
        if v > MAX_IMAGE_SIDE_PX:
            raise ValidationError(f"{name} = {v!r} px: allowed 1..{MAX_IMAGE_SIDE_PX:,} px per side")
        return v

    if isinstance(x, (list, tuple)) and len(x) == 2:
        return (side("serving.image_size[0]", x[0]), side("serving.image_size[1]", x[1]))
    if isinstance(x, (list, tuple)):
        raise ValidationError(f"serving.image_size = {x!r}: expected a side [px] or [height, width] [px]")
    return side("serving.image_size", x)


def _serving_values(d: dict) -> dict:
    """The validated, normalised values of a [serving] table (every key present)."""
    v: dict[str, Any] = {}
    v["engine"] = _enum("serving.engine", d.get("engine", ServingConfig.engine), ENGINES)
    v["weight_precision"] = _enum("serving.weight_precision", d.get("weight_precision", ServingConfig.weight_precision),
                                  WEIGHT_PRECISIONS)
    v["kv_precision"] = _enum("serving.kv_precision", d.get("kv_precision", ServingConfig.kv_precision), KV_PRECISIONS)
    ap = d.get("attention_precision")
    v["attention_precision"] = None if ap is None else _enum("serving.attention_precision", ap, WEIGHT_PRECISIONS)
    mp = d.get("mtp_precision")
    v["mtp_precision"] = None if mp is None else _enum("serving.mtp_precision", mp, WEIGHT_PRECISIONS)
    for k in ("tp", "ep", "pp", "dp", "mtp_draft_tokens", "input_tokens", "output_tokens", "concurrency",
              "encoder_batch"):
        v[k] = _int(f"serving.{k}", d.get(k, getattr(ServingConfig, k)))
    for k in ("chunk_tokens", "num_prompts"):
        v[k] = None if d.get(k) is None else _int(f"serving.{k}", d[k])
    for k, hi, why in SERVING_BOUNDS:
        if v[k] is not None and v[k] > hi:
            raise ValidationError(f"serving.{k} = {v[k]!r}: allowed 1..{hi:,} ({why})")
    v["dp_attention"] = _bool("serving.dp_attention", d.get("dp_attention", False))
    v["spec_decoding"] = _enum("serving.spec_decoding", d.get("spec_decoding", ServingConfig.spec_decoding), SPEC_DECODING)
    acc = _py(d.get("mtp_acceptance"))
    if acc is not None:
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not (math.isfinite(acc) and 0 <= acc <= 1):
            raise ValidationError(f"serving.mtp_acceptance = {acc!r}: expected a number between 0 and 1")
        acc = float(acc)
    v["mtp_acceptance"] = acc
    for k, unit in (("images_per_request", "pictures"), ("audio_s_per_request", "s")):
        x = _py(d.get(k, 0.0))
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise ValidationError(f"serving.{k} = {x!r}: expected a finite number >= 0 [{unit}]")
        v[k] = float(x)
    v["image_size"] = _image_size(d.get("image_size"))
    v["batching"] = _enum("serving.batching", d.get("batching", ServingConfig.batching), BATCHING)
    rate = _py(d.get("request_rate_rps"))
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValidationError(f"serving.request_rate_rps = {rate!r}: expected a finite number > 0 "
                                  "[requests/s] (or leave it out for a closed loop at concurrency)")
        rate = float(rate)
        if v["batching"] == "static":
            raise ValidationError("serving.request_rate_rps: an arrival rate needs batching = 'continuous'")
    v["request_rate_rps"] = rate
    v["lockstep"] = _bool("serving.lockstep", d.get("lockstep", False))
    if v["lockstep"] and (rate is not None or v["batching"] == "static"):
        raise ValidationError("serving.lockstep = true: waves of a closed loop; needs batching = 'continuous' "
                              "and no request_rate_rps")
    st = d.get("stack")
    if st is not None:
        from . import stacks

        st = stacks.canonical(st, "serving", where="serving.stack")
        if not st.startswith(v["engine"] + "-"):
            raise ValidationError(f"serving.stack = {st!r}: a stack of another engine than "
                                  f"serving.engine = {v['engine']!r}")
    v["stack"] = st
    if v["spec_decoding"] == "none" and (acc is not None or v["mtp_draft_tokens"] != 1):
        raise ValidationError("serving.mtp_acceptance / mtp_draft_tokens: only with spec_decoding = 'mtp' "
                              f"(spec_decoding = {v['spec_decoding']!r})")
    if v["num_prompts"] is not None and v["num_prompts"] < v["concurrency"]:
        raise ValidationError(f"serving.num_prompts = {v['num_prompts']}: must be >= concurrency = "
                              f"{v['concurrency']} (a benchmark sends at least one wave)")
    if v["dp_attention"] and v["dp"] == 1:
        raise ValidationError("serving.dp_attention = true: needs dp > 1 attention ranks (dp = 1)")
    mp = v["tp"] * (v["dp"] if v["dp_attention"] else 1)
    if mp % v["ep"]:
        raise ValidationError(
            f"serving.ep = {v['ep']}: must divide tp = {v['tp']}"
            + (f" · dp = {v['dp']} (dp_attention)" if v["dp_attention"] else
               " (experts spread over a replica's TP ranks; set dp_attention = true to spread them "
               "over tp·dp GPUs)")
        )
    return v


def serving_stack(engine: str, accelerator: str) -> str:
    """The software stack of ``engine`` on ``accelerator``'s platform: ``<engine>-cuda`` (NVIDIA)
    or ``<engine>-rocm`` (AMD), checked against :mod:`infra_lab.stacks`.

    Examples
    --------
    >>> serving_stack("sglang", "MI300X")
    'sglang-rocm'
    """
    from . import stacks

    acc = catalog.accelerator(accelerator)
    platform = {"NVIDIA": "cuda", "AMD": "rocm"}.get(acc.vendor)
    name = f"{engine}-{platform}"
    valid = stacks.names("serving")
    if name not in valid:
        ok = sorted({s.rsplit("-", 1)[0] for s in valid if s.endswith(f"-{platform}")})
        raise ValidationError(f"serving.engine = {engine!r}: no {engine} stack on {acc.name} ({acc.vendor}, "
                              f"{platform}); engines there: {', '.join(ok)}")
    return name


def _model_fields() -> tuple[set[str], list[str]]:
    from . import models

    return set(models.MODEL_FIELDS), list(models.preset_names())


def _plain(v: Any) -> Any:
    """A [model] value as TOML and ``==`` see it: numpy scalars as Python numbers, tuples as
    lists, None entries of tables left out (TOML has no null: a missing key is the default)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and callable(v.item) and type(v).__module__ == "numpy":
        return v.item()
    return v


def _validate_model(d: dict) -> tuple[dict, dict]:
    """The [model] table (a plain copy) and the objects resolved from it while validating it,
    ``{"model_spec": ModelSpec}`` or ``{"multimodal": MultimodalSpec}``, which the Scenario
    keeps (resolved once, not rebuilt on every access). A bare name, ``model = "llama3-8b"``,
    is read as ``{preset = "llama3-8b"}``."""
    if isinstance(d, str):
        d = {"preset": d}
    if not isinstance(d, dict) or not d:
        raise ValidationError(f"[model] = {d!r}: expected a table with preset = '<name>' or explicit fields")
    if "preset" in d and d["preset"] is None:  # named here: dropping it would say "missing layers"
        from . import models

        models.ModelSpec.from_dict(d)
    d = _plain(d)
    if not d:
        raise ValidationError("[model]: every value is None; expected preset = '<name>' or explicit fields")
    from . import models

    if _is_multimodal(d):
        from . import multimodal

        # raises with field/value/allowed on bad input
        return dict(d), {"multimodal": multimodal.resolve_model(d)}
    return dict(d), {"model_spec": models.ModelSpec.from_dict(d)}  # raises likewise


def _is_multimodal(d: Any) -> bool:
    """A [model] table naming a multimodal preset or carrying vision/audio keys (issue 20)."""
    if not isinstance(d, dict):
        return False
    from . import multimodal

    return multimodal.is_multimodal_table(d)


@dataclass(frozen=True)
class Scenario:
    """A validated training or serving scenario (the contract in docs/ARCHITECTURE.md).

    Attributes
    ----------
    name : identifier
    model : the [model] table as given (preset and/or explicit fields)
    hardware : validated [hardware] table
    training, parallelism : validated tables of a training scenario (None in a serving one)
    serving : validated [serving] table of a serving scenario (None in a training one)

    A scenario for :func:`infra_lab.search` (``Scenario.from_dict(d, check_plan=False)``) may
    have no plan (``parallelism`` None) or one that does not fit its cluster, batch or model:
    a call that prices one plan (:func:`infra_lab.estimate`, memory, ...) validates it again
    and raises the plan's error, or says that [parallelism] is missing.
    """

    name: str
    model: dict = field(hash=False)
    hardware: HardwareConfig
    training: TrainingConfig | None
    parallelism: ParallelismConfig | None
    serving: ServingConfig | None = None

    TOP_KEYS = ("name", "model", "hardware", "training", "parallelism", "serving")

    def __post_init__(self) -> None:
        # Built directly (``Scenario(name, model, HardwareConfig(...), TrainingConfig(...), ...)``):
        # validated exactly like the dict form, so config objects cannot skip a rule.
        if _BUILDING.get():
            return
        built = Scenario.from_dict(_fields_as_tables(self))
        for k in ("name", "model", "hardware", "training", "parallelism", "serving"):
            object.__setattr__(self, k, getattr(built, k))
        self.__dict__.update({k: v for k, v in built.__dict__.items() if k in ("model_spec", "multimodal")})

    @property
    def kind(self) -> str:
        """"serving" when the scenario has a [serving] table, else "training"."""
        return "serving" if self.serving is not None else "training"

    @classmethod
    def from_dict(cls, d: dict, *, check_plan: bool = True) -> Scenario:
        """Build and validate a Scenario from a plain dict with the contract's tables.

        ``check_plan=False`` builds a training scenario for :func:`infra_lab.search`, which
        enumerates the plans itself: the [parallelism] table may be left out (``parallelism``
        None: no plan, rather than the default pure data parallelism of a checked build) and
        is checked on its own only (its keys and values, the library choices the search keeps:
        moe_dispatcher, ep_overlap, tp_async, dualpipe, cp_rotate, cp_repeat_kv), not against
        the world size, ``training.global_batch``/``micro_batch`` or the model; every other
        table is validated as usual. Given a Scenario built so, ``check_plan=True`` (the
        default, as every call that prices one plan uses it) validates it in full: the plan's
        error, or "no [parallelism] table" when it has none."""
        if not isinstance(check_plan, bool):
            raise ValidationError(f"check_plan = {check_plan!r}: expected true or false")
        if isinstance(d, Scenario):
            if check_plan and d.__dict__.get("_plan_unchecked"):
                return d._with_checked_plan()
            return d
        if not isinstance(d, dict):
            raise ValidationError(f"scenario = {d!r}: expected a Scenario or a dict with tables "
                                  f"{', '.join(cls.TOP_KEYS)}{_source_hint(d)}")
        _check_top_keys(d, cls.TOP_KEYS)
        d = {k: _as_table(k, v) for k, v in d.items()}
        for req in ("model", "hardware"):
            if req not in d:
                raise ValidationError(f"scenario: missing table [{req}]")
        name = d.get("name", "scenario")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"name = {name!r}: expected a non-empty string")
        hw = HardwareConfig.from_dict(d["hardware"])
        if "serving" in d:
            extra = [t for t in ("training", "parallelism") if t in d]
            if extra:
                raise ValidationError(
                    f"scenario: [serving] replaces [{'] and ['.join(extra)}]; give either [serving] "
                    "(an inference deployment) or [training] + [parallelism] (a training run)")
            sv = ServingConfig.from_dict(d["serving"])
            model, resolved = _validate_model(d["model"])
            token = _BUILDING.set(True)
            try:
                sc = cls(name, model, hw, None, None, sv)
            finally:
                _BUILDING.reset(token)
            sc.__dict__.update(resolved)   # seed the cached properties (frozen: no setattr)
            sc._check_serving()
            return sc
        tr = TrainingConfig.from_dict(d.get("training", {}))
        if check_plan:
            par = ParallelismConfig.from_dict(d.get("parallelism", {}), hw.world_size)
        else:
            par = _plan_table_alone(d.get("parallelism"))
        model, resolved = _validate_model(d["model"])
        token = _BUILDING.set(True)
        try:
            sc = cls(name, model, hw, tr, par)
        finally:
            _BUILDING.reset(token)
        sc.__dict__.update(resolved)   # seed the cached properties (frozen: no setattr)
        if not check_plan:
            sc.__dict__["_plan_unchecked"] = True
        sc._check_consistency(plan=check_plan)
        return sc

    def _with_checked_plan(self) -> Scenario:
        """This scenario (built with ``check_plan=False``) validated in full."""
        if self.parallelism is None:
            raise ValidationError(
                f"parallelism: scenario {self.name!r} has no [parallelism] table (built with check_plan=False, "
                "for il.search, which enumerates the plans); this call prices one plan: give the table, e.g. "
                "sc.replace(parallelism={'tp': 1, 'pp': 1}) or the plan of a row of il.search's frame")
        return Scenario.from_dict(self.to_dict())

    def _check_consistency(self, plan: bool = True) -> None:
        """The tables against each other: the plan (unless ``plan`` is False: a scenario for
        il.search), the stack, activation offloading and the multimodal keys."""
        if plan:
            self._check_plan()
        tr = self.training
        from .models import check_context

        check_context(self.model_spec, "training.seq_len", tr.seq_len, tr.seq_len)
        check_recompute_num_layers(tr.recompute_num_layers, layers=len(self.model_spec.layer_kinds()))
        peaks = self.hardware.accelerator_spec.peak_flops
        if tr.precision not in peaks:
            raise ValidationError(
                f"training.precision = {tr.precision!r}: {self.hardware.accelerator} has no {tr.precision} tensor "
                f"cores (no sourced dense {tr.precision} peak); allowed: "
                f"{', '.join(x for x in PRECISIONS if x in peaks)}")
        if tr.stack is not None:
            from . import stacks

            stacks.check_stack(tr.stack, self.hardware.accelerator, "training", where="training.stack")
        if tr.offload_modules is not None:
            # fine-grained activation offloading is Megatron-Core's (Megatron-LM and its ROCm forks)
            from . import stacks

            if "megatron" not in stacks.info(self.stack)["framework"].lower():
                ok = [n for n in stacks.names("training") if "megatron" in stacks.info(n)["framework"].lower()]
                raise ValidationError(f"training.offload_modules = {list(tr.offload_modules)!r} with training stack "
                                      f"{self.stack!r} ({stacks.info(self.stack)['framework']}): fine-grained activation "
                                      f"offloading is Megatron-Core's; allowed stacks: {', '.join(ok)}")
        if tr.recompute_num_layers is not None:
            # the layers recomputed per pipeline chunk are Megatron's block method
            from . import stacks

            fw = stacks.info(self.stack)["framework"]
            if "megatron" not in fw.lower():
                ok = [n for n in stacks.names("training") if "megatron" in stacks.info(n)["framework"].lower()]
                raise ValidationError(f"training.recompute_num_layers = {tr.recompute_num_layers} with training stack "
                                      f"{self.stack!r} ({fw}): the first N layers of each pipeline chunk recomputed "
                                      "is Megatron's --recompute-method block --recompute-num-layers N; allowed "
                                      f"stacks: {', '.join(ok)} (or leave it out: every layer)")
            if self.parallelism is not None and self.parallelism.ep_overlap:
                # Megatron-Core asserts recompute_num_layers is None with --overlap-moe-expert-parallel-comm:
                # https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_config.py#L1877-L1879
                raise ValidationError(f"training.recompute_num_layers = {tr.recompute_num_layers} with "
                                      "parallelism.ep_overlap = true: Megatron-Core refuses --recompute-num-layers "
                                      "with --overlap-moe-expert-parallel-comm; allowed: one of the two")
        mm = self.multimodal
        if tr.data_mix is not None:
            tr.data_mix.check_for(mm)
        if tr.encoder is not None and mm is None:
            raise ValidationError(f"training.encoder = {tr.encoder!r}: the model is text-only (no vision or audio "
                                  "encoder); leave it out")

    def _check_plan(self) -> None:
        """The [parallelism] plan against the batch and the model (its world-size rules are
        :meth:`ParallelismConfig.from_dict`'s)."""
        tr, p = self.training, self.parallelism
        per_step = tr.micro_batch * p.dp
        if tr.global_batch % per_step:
            raise ValidationError(
                f"training.global_batch = {tr.global_batch}: must be a multiple of micro_batch·dp = "
                f"{tr.micro_batch}·{p.dp} = {per_step}"
            )
        spec = self.model_spec
        if p.ep > 1 and not spec.experts:
            raise ValidationError(f"parallelism.ep = {p.ep}: the model has no experts (dense); allowed ep = 1")
        if spec.experts and spec.experts % p.ep:
            raise ValidationError(
                f"parallelism.ep = {p.ep}: must divide the model's {spec.experts} experts"
            )
        if p.pp * p.vp > spec.layers + 2:
            raise ValidationError(
                f"parallelism.pp·vp = {p.pp}·{p.vp}: more pipeline chunks than the model's {spec.layers} "
                f"layers plus an embedding and a loss chunk; allowed pp·vp <= {spec.layers + 2} (it need not "
                f"divide the layers: stages are as even as possible)"
            )
        if p.etp > 1 and not spec.experts:
            raise ValidationError(f"parallelism.etp = {p.etp}: the model has no experts (dense); allowed etp = 1")
        if spec.heads % p.tp:
            raise ValidationError(f"parallelism.tp = {p.tp}: must divide the model's {spec.heads} attention heads")
        if tr.seq_len % p.cp:
            raise ValidationError(f"parallelism.cp = {p.cp}: must divide training.seq_len = {tr.seq_len}")

    @property
    def stack(self) -> str:
        """The software stack of this scenario: ``training.stack`` when given, else the
        default training stack of the accelerator's vendor (:func:`infra_lab.stacks.default_stack`).
        A serving scenario's stack is ``<engine>-<platform>`` (``vllm-rocm``, ``trt-llm-cuda``, ...)."""
        if self.serving is not None:
            if self.serving.stack is not None:
                return self.serving.stack
            return serving_stack(self.serving.engine, self.hardware.accelerator)
        if self.training.stack is not None:
            return self.training.stack
        from . import stacks

        return stacks.default_stack(self.hardware.accelerator, "training")

    def _check_serving(self) -> None:
        sv, hw = self.serving, self.hardware
        if sv.gpus != hw.world_size:
            raise ValidationError(
                f"serving: tp·pp·dp = {sv.tp}·{sv.pp}·{sv.dp} = {sv.gpus} GPUs, but [hardware] has "
                f"nodes × gpus_per_node = {hw.nodes} × {hw.gpus_per_node} = {hw.world_size}; they must be equal"
            )
        spec = self.model_spec
        if spec.arch != "transformer":
            raise ValidationError(
                f"[model] arch = {spec.arch!r}: serving models transformer layers (mha/gqa/mla/cca attention, "
                "dense or MoE); hybrid SSM models are not modelled"
            )
        if spec.heads % sv.tp:
            raise ValidationError(f"serving.tp = {sv.tp}: must divide the model's {spec.heads} attention heads")
        from .models import check_context

        check_context(spec, "serving.input_tokens + serving.output_tokens",
                      f"{sv.input_tokens:,} + {sv.output_tokens:,}", sv.input_tokens + sv.output_tokens)
        media = (("images_per_request", sv.images_per_request, "vision"),
                 ("audio_s_per_request", sv.audio_s_per_request, "audio"))
        for key, amount, modality in media:
            if amount > 0 and (not _is_multimodal(self.model) or getattr(self.multimodal, modality) is None):
                raise ValidationError(
                    f"serving.{key} = {amount:g}: the [model] has no {modality} encoder; give a multimodal "
                    f"preset (e.g. \"qwen2.5-vl-7b\") or {modality} = \"<encoder preset>\" in [model]")
        if sv.image_size is not None and sv.images_per_request == 0:
            raise ValidationError(f"serving.image_size = {sv.image_size!r}: only with images_per_request > 0")
        if sv.images_per_request or sv.audio_s_per_request:
            from .multimodal.compute import check_encoder_call

            mm = self.multimodal
            if sv.images_per_request:
                check_encoder_call(mm.vision, sv.images_per_request * sv.encoder_batch, sv.image_size, tp=sv.tp,
                                   items_name="serving.images_per_request x encoder_batch",
                                   size_name="serving.image_size")
            if sv.audio_s_per_request and mm.audio.modality != "codec":
                windows = mm.audio.audio_frames(sv.audio_s_per_request)["windows"]
                check_encoder_call(mm.audio, windows * sv.encoder_batch, tp=sv.tp,
                                   items_name=f"serving.audio_s_per_request = {sv.audio_s_per_request:g} s "
                                              "in windows x encoder_batch")
        if sv.ep > 1 and not spec.experts:
            raise ValidationError(f"serving.ep = {sv.ep}: the model has no experts (dense); allowed ep = 1")
        if spec.experts and spec.experts % sv.ep:
            raise ValidationError(f"serving.ep = {sv.ep}: must divide the model's {spec.experts} experts")
        if sv.dp_attention and not spec.experts:
            raise ValidationError("serving.dp_attention = true: DP attention spreads MoE layers over the dp ranks; "
                                  "the model is dense (use dp replicas with dp_attention = false)")
        if sv.spec_decoding == "mtp" and not spec.mtp_layers:
            raise ValidationError(f"serving.spec_decoding = 'mtp': the model {spec.name!r} has no multi-token-"
                                  "prediction modules (mtp_layers = 0); allowed 'none'")
        if sv.pp > spec.layers:
            raise ValidationError(f"serving.pp = {sv.pp}: more stages than the model's {spec.layers} layers")
        if sv.pp > 1 and sv.dp_attention:
            raise ValidationError("serving.pp > 1 with dp_attention = true: not modelled; use pp = 1")
        if sv.weight_precision in ("fp8", "fp4") and sv.weight_precision not in hw.accelerator_spec.peak_flops:
            raise ValidationError(
                f"serving.weight_precision = {sv.weight_precision!r}: {hw.accelerator} has no {sv.weight_precision} "
                f"tensor cores; allowed: {', '.join(p for p in WEIGHT_PRECISIONS if p == 'bf16' or p in hw.accelerator_spec.peak_flops)}"
                + (" (the model's MXFP4 experts stay MXFP4 at any weight_precision)" if spec.expert_weight_format else "")
            )
        serving_stack(sv.engine, hw.accelerator)  # raises when the engine does not run on this platform
        if sv.stack is not None:
            from . import stacks

            stacks.check_stack(sv.stack, hw.accelerator, "serving", where="serving.stack")
        if sv.tp > hw.scaleup_domain:
            raise ValidationError(
                f"serving.tp = {sv.tp}: tensor parallelism must stay inside one scale-up domain "
                f"(hardware.scaleup_domain = {hw.scaleup_domain})"
            )

    @functools.cached_property
    def model_spec(self):
        """The resolved :class:`infra_lab.models.ModelSpec` (of a multimodal model: its
        language model)."""
        from . import models

        return models.ModelSpec.from_dict(self.lm_model)

    @property
    def lm_model(self) -> dict:
        """The language model's [model] table: ``model`` itself for a text model; for a
        multimodal one (issue 20) the table without its vision/audio/adapter keys, with a
        multimodal preset replaced by its language model's preset."""
        if not _is_multimodal(self.model):
            return self.model
        from . import multimodal

        return multimodal.split_model_table(self.model)[0]

    @functools.cached_property
    def multimodal(self):
        """The :class:`infra_lab.multimodal.MultimodalSpec` of a multimodal model, else None."""
        if not _is_multimodal(self.model):
            return None
        from . import multimodal

        return multimodal.resolve_model(self.model)

    @classmethod
    def from_toml(cls, path: str | Path, *, check_plan: bool = True) -> Scenario:
        """Read a Scenario from a TOML file with the contract's tables (``check_plan`` as in
        :meth:`from_dict`). A string with a line break is read as TOML text, so
        ``Scenario.from_toml(sc.to_toml())`` round-trips.

        Raises :class:`ValidationError` naming the file when it is missing, a folder,
        unreadable, not UTF-8 text or not valid TOML (as well as for any invalid table)."""
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise ValidationError(f"path = {path!r}: expected the path of a TOML file (str or pathlib.Path)")
        if isinstance(path, str) and "\n" in path:   # TOML text, e.g. from to_toml()
            try:
                d = tomllib.loads(path)
            except tomllib.TOMLDecodeError as e:
                raise ValidationError(f"scenario TOML text: not valid TOML ({e})") from None
            d.setdefault("name", "scenario")
            return cls.from_dict(d, check_plan=check_plan)
        path = Path(path)
        try:
            with path.open("rb") as fh:
                d = tomllib.load(fh)
        except FileNotFoundError:
            raise ValidationError(f"scenario file {str(path)!r}: not found") from None
        except IsADirectoryError:
            raise ValidationError(f"scenario file {str(path)!r}: is a folder, expected a .toml file") from None
        except UnicodeDecodeError as e:
            raise ValidationError(f"scenario file {str(path)!r}: not UTF-8 text (TOML files are UTF-8; "
                                  f"byte {e.start}: {e.reason})") from None
        except tomllib.TOMLDecodeError as e:
            raise ValidationError(f"scenario file {path.name}: not valid TOML ({e})") from None
        except OSError as e:
            raise ValidationError(f"scenario file {str(path)!r}: cannot be read ({e.strerror or e})") from None
        d.setdefault("name", path.stem)
        return cls.from_dict(d, check_plan=check_plan)

    def to_dict(self) -> dict:
        """Plain dict with every table; ``Scenario.from_dict(sc.to_dict()) == sc`` (of a scenario
        built with ``check_plan=False``: ``Scenario.from_dict(sc.to_dict(), check_plan=False)``;
        without a plan it has no "parallelism" key)."""
        if self.serving is not None:
            return {
                "name": self.name,
                "model": dict(self.model),
                "hardware": self.hardware.to_dict(),
                "serving": self.serving.to_dict(),
            }
        d = {
            "name": self.name,
            "model": dict(self.model),
            "hardware": self.hardware.to_dict(),
            "training": self.training.to_dict(),
        }
        if self.parallelism is not None:
            d["parallelism"] = self.parallelism.to_dict()
        return d

    def to_toml(self) -> str:
        """TOML text with the same tables as :meth:`to_dict` (None values left out: TOML has
        no null, and a missing key reads back as the same default), written by ``tomli-w``:
        strings with control characters are escaped, list-valued model overrides
        (``shared_attn_insertions = [0, 6, 12]``) are written as arrays, and
        ``Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc``."""
        import tomli_w

        try:
            return tomli_w.dumps(_drop_none(self.to_dict(), ""))
        except (TypeError, ValueError) as e:  # a value TOML cannot hold (tomli-w's own message)
            raise ValidationError(f"scenario {self.name!r}: cannot be written to TOML ({e})") from None

    def replace(self, **tables: dict) -> Scenario:
        """A new validated Scenario with some keys changed, e.g.
        ``sc.replace(hardware={"nodes": 16}, parallelism={"tp": 2})``. Of a scenario built with
        ``check_plan=False`` (for il.search), a scenario built so, with its plan given or changed
        by ``parallelism={...}``."""
        unchecked = bool(self.__dict__.get("_plan_unchecked"))
        d = self.to_dict()
        if unchecked and self.training is not None:
            d.setdefault("parallelism", {})
        for table, upd in tables.items():
            if table == "name":
                d["name"] = upd
                continue
            if table not in d:
                valid = [t for t in d if t != "name"] + ["name"]
                raise unknown("table", table, valid, where=f"this {self.kind} scenario")
            if not isinstance(upd, dict):
                raise ValidationError(f"replace({table}={upd!r}): expected a dict of the [{table}] keys to "
                                      f"change, e.g. replace({table}={{{next(iter(d[table]), 'key')!r}: ...}})")
            d[table] = {**d[table], **upd}
        if unchecked and self.parallelism is None and "parallelism" not in tables:
            del d["parallelism"]
        return Scenario.from_dict(d, check_plan=not unchecked)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scenario) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        # the TOML text of a (frozen) scenario is written once: every estimate and search
        # looks its tables up by the scenario; str keeps its own hash
        text = self.__dict__.get("_hash_text")
        if text is None:
            text = self.__dict__["_hash_text"] = self.to_toml()
        return hash(text)


_BUILDING: contextvars.ContextVar[bool] = contextvars.ContextVar("scenario_building", default=False)
"""True while :meth:`Scenario.from_dict` assembles parts it has already validated."""


def _plan_table_alone(d: Any) -> ParallelismConfig | None:
    """The [parallelism] table of a scenario built with ``check_plan=False``: None when left
    out (or None), else the table checked on its own (its keys, each value, the rules between
    its own keys), not against the world size, the batch or the model."""
    if d is None:
        return None
    if not isinstance(d, dict):
        raise ValidationError(f"[parallelism] = {d!r}: expected a table (dict), or none for il.search")
    _check_keys("parallelism", d, ParallelismConfig.KEYS)
    return ParallelismConfig(**d)


def _fields_as_tables(sc: Scenario) -> dict:
    """The fields of a directly built Scenario as the dict form (config objects as tables)."""
    d: dict[str, Any] = {"name": sc.name, "model": sc.model, "hardware": sc.hardware}
    for k in ("training", "parallelism", "serving"):
        if getattr(sc, k) is not None:
            d[k] = getattr(sc, k)
    return d


def _as_table(key: str, v: Any) -> Any:
    """A config object given for a table as its dict, so it is validated like one (its
    fields may have been set to anything: dataclasses do not check types)."""
    cls = {"training": TrainingConfig, "parallelism": ParallelismConfig, "serving": ServingConfig}.get(key)
    if cls is not None and isinstance(v, cls):
        return v.to_dict()
    if key == "hardware" and v is not None and not isinstance(v, (dict, HardwareConfig)):
        raise ValidationError(f"hardware = {v!r}: expected the [hardware] table (dict) or a HardwareConfig")
    return v


def _check_top_keys(d: dict, valid: tuple[str, ...]) -> None:
    """Unknown top-level keys; a key of one of the tables written at the top level is
    pointed to its table (``preset`` -> [model]) rather than to a similar-looking table name."""
    for k in d:
        if k in valid:
            continue
        from . import models

        tables = {"model": set(models.MODEL_FIELDS), "hardware": set(HardwareConfig.KEYS),
                  "training": set(TrainingConfig.KEYS), "parallelism": set(ParallelismConfig.KEYS),
                  "serving": set(ServingConfig.KEYS)}
        owners = [t for t, keys in tables.items() if k in keys]
        if owners:
            where = " or ".join(f"[{t}]" for t in owners)
            raise ValidationError(
                f"key {k!r} at the top level: it belongs in the {where} table; write it under "
                f"[{owners[0]}] in TOML, or as {{{owners[0]!r}: {{{k!r}: ...}}}} in a dict")
        _check_keys("", d, valid)


def _drop_none(v: Any, where: str) -> Any:
    """``v`` with None values left out of every table (TOML has no null); a None inside a
    list cannot be written and is refused."""
    if isinstance(v, dict):
        return {k: _drop_none(x, f"{where}.{k}" if where else str(k)) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        if any(x is None for x in v):
            raise ValidationError(f"{where} = {v!r}: TOML arrays cannot hold None")
        return [_drop_none(x, where) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        raise ValidationError(f"{where} = {v!r}: a scenario holds finite numbers only")
    return v


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped in data/scenarios/*.toml."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name: str, *, check_plan: bool = True) -> Scenario:
    """Load a shipped scenario by name (any letter case), e.g.
    ``load_scenario("zaya1-ibm-mi300x")``; ``check_plan`` as in :meth:`Scenario.from_dict`."""
    match = _shipped_name(name)
    if match is None:
        raise unknown("scenario", name, list_scenarios())
    return Scenario.from_toml(SCENARIO_DIR / f"{match}.toml", check_plan=check_plan)


def _shipped_name(value: Any) -> str | None:
    """The shipped scenario ``value`` names (case-insensitive), else None."""
    if not isinstance(value, str):
        return None
    return {n.lower(): n for n in list_scenarios()}.get(value.lower())


def _source_hint(value: Any) -> str:
    """What to pass instead of a string or path that is not a scenario (for error messages)."""
    if not isinstance(value, (str, os.PathLike)):
        return ""
    shipped = _shipped_name(value)
    if shipped is not None:
        return f"; {value!r} is a shipped scenario: pass il.load_scenario({shipped!r})"
    near = nearest(str(value), list_scenarios())
    hint = f"did you mean {', '.join(repr(x) for x in near)}? " if near else ""
    return (f"; a path must name an existing .toml file (Scenario.from_toml); a shipped scenario is "
            f"named as listed ({hint}shipped: {', '.join(list_scenarios())})")


def as_scenario(scenario: Any, field_: str = "scenario", *, check_plan: bool = True) -> Scenario:
    """The one coercion of "a scenario" for the public calls (``il.estimate``, ``il.search``,
    ``il.serve``, ``il.serve_search``, the memory and multimodal calls).

    Accepts a :class:`Scenario` (returned as is), the contract's tables as a dict (validated
    by :meth:`Scenario.from_dict`) or the path of a TOML file (str or ``os.PathLike``; read
    by :meth:`Scenario.from_toml`, whose errors name the file; TOML text, a string with a line
    break, is read too) or the name of a shipped scenario (:func:`list_scenarios`, any letter
    case; as the CLI takes it) when no file of that name exists. Any other string is refused,
    saying what a path must be and which scenarios ship. ``check_plan`` as in
    :meth:`Scenario.from_dict`.

    Examples
    --------
    >>> import infra_lab as il
    >>> p = il.scenario.SCENARIO_DIR / "zaya1-ibm-mi300x.toml"
    >>> as_scenario(p) == as_scenario(str(p)) == as_scenario("zaya1-ibm-mi300x") == il.load_scenario("zaya1-ibm-mi300x")
    True
    """
    if isinstance(scenario, (Scenario, dict)):
        return Scenario.from_dict(scenario, check_plan=check_plan)
    if isinstance(scenario, str) and "\n" in scenario:
        return Scenario.from_toml(scenario, check_plan=check_plan)
    if isinstance(scenario, (str, os.PathLike)) and not isinstance(scenario, bytes):
        p = Path(scenario)
        if str(p).lower().endswith(".toml") or p.is_file():
            return Scenario.from_toml(p, check_plan=check_plan)
        if _shipped_name(scenario) is not None:
            return load_scenario(scenario, check_plan=check_plan)
    raise ValidationError(f"{field_} = {scenario!r}: expected a Scenario, a dict with tables "
                          f"{', '.join(Scenario.TOP_KEYS)}, the path of a .toml file or a shipped scenario's name"
                          f"{_source_hint(scenario)}")


__all__ = ["Scenario", "as_scenario", "HardwareConfig", "as_hardware", "TrainingConfig", "ParallelismConfig", "ServingConfig", "serving_stack",
           "load_scenario", "list_scenarios", "FABRICS", "PRECISIONS", "RECOMPUTE", "OPTIMIZERS",
           "ENCODER_MODES", "ENGINES", "WEIGHT_PRECISIONS", "KV_PRECISIONS", "SPEC_DECODING", "BATCHING"]
