"""The training-memory table: per-GPU memory of a Scenario by component.

Owns the optimizer bytes per parameter (:data:`OPTIMIZER_STATE_BYTES`), the overrides of
:func:`training_memory` and their defaults (:data:`TRAINING_DEFAULTS`, :data:`PIPELINE_RANKS`),
:func:`training_memory` and the parts it is computed from (the overrides checked, state
sharding, layer activations, loss and context-parallel buffers, multimodal inputs, one stage's
peak, the notes), :func:`training_memory_total`, :func:`fits`, :func:`memory_sweep` (several
models on several devices) and :func:`korthikanti_check` (Korthikanti et al. 2022, Figure 1 at the Table 5
runs, read by :func:`korthikanti_runs` from data/measurements/korthikanti2022_table5.csv).
The formulas come from :mod:`infra_lab.memory.activations` and :mod:`infra_lab.memory.pipeline`;
the bytes of one stage are the numba kernel :func:`infra_lab._kernels.memory.stage_memory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import _validate as V
from .. import catalog
from ..errors import KEYWORD_SPELLINGS, ValidationError, check_positive, unknown, unknown_keyword
from ..scenario import CP_ROTATE_METHODS, FSDP_IMPLS, RECOMPUTE
from ..units import GiB
from ._common import _stack_param
from .activations import (
    FP8_PRECISIONS,
    SELECTIVE_MODES,
    activation_bytes_per_layer,
    cp_exchange_widths,
    fp8_weight_copy_bytes,
    loss_logits_bytes,
    mtp_activation_bytes,
    mtp_modules_recomputed,
    offloaded_bytes_per_layer,
    saved_gemm_input_bytes,
)
from .pipeline import stage_candidates

if TYPE_CHECKING:
    import os

    from ..scenario import Scenario

OPTIMIZER_STATES: dict[str, tuple[str, ...]] = {
    "adamw": ("fp32", "fp32", "fp32"), "adam": ("fp32", "fp32", "fp32"),
    "adamw-bf16": ("fp32", "bf16", "bf16"), "muon": ("fp32", "fp32"), "sgd": ("fp32", "fp32"),
}
"""The number format of each tensor an optimizer keeps per parameter: the fp32 master weight,
then its moments. AdamW/Adam = master + first moment m + second moment v, all fp32 (ZeRO's
accounting, https://arxiv.org/abs/1910.02054); ``adamw-bf16`` = AdamW with 16-bit moments and
an fp32 master (Megatron-Core's precision-aware optimizer with ``--exp-avg-dtype bf16
--exp-avg-sq-dtype bf16``,
https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/optimizer/optimizer_config.py ;
DeepSeek-V3 report §3.3.3 "BF16 ... for the first and second moments in the AdamW
optimizer", https://arxiv.org/abs/2412.19437); Muon = master + momentum
(https://kellerjordan.github.io/posts/muon/); SGD = master + momentum."""

OPTIMIZER_STATE_BYTES = {opt: sum(catalog.format_bytes(f) for f in fmts) for opt, fmts in OPTIMIZER_STATES.items()}
"""Optimizer bytes per parameter [bytes]: the sum over :data:`OPTIMIZER_STATES` of each
tensor's bytes per element (:func:`infra_lab.catalog.format_bytes`, the number-format table
data/serving/number_formats.csv): AdamW/Adam 4 + 4 + 4 = 12, ``adamw-bf16`` 4 + 2 + 2 = 8,
Muon and SGD 4 + 4 = 8."""


TRAINING_DEFAULTS: dict[str, Any] = {
    "weight_bytes": None,       # None: the stack's weight_bytes (16-bit working weights)
    "grad_bytes": None,         # None: the stack's grad_buffer_bytes (Megatron fp32 main_grad: 4)
    "optimizer_state_bytes": None,  # None: OPTIMIZER_STATE_BYTES[optimizer]
    "activation_bytes": catalog.format_bytes("bf16"),   # 16-bit activations
    "flash_attention": None,    # None: the stack's flash_attention (fused core, only the fp32 LSE stored)
    "dropout": None,            # None: the stack's dropout (1-byte masks as in GPT-3/Megatron)
    "reserve_fraction": None,   # None: the stack's memory_reserve_fraction [fraction of the tensor bytes]
    "reserve_bytes": None,      # None: the stack's memory_reserve_bytes [bytes]
    "include_embeddings": True,  # embedding / LM-head weights and head activations
    "selective_mode": None,     # None: the stack's selective_recompute (0 "attention", 1 "op")
}
"""Defaults of :func:`training_memory`'s overrides (documented in its docstring). ``None``
means "the value of the scenario's software stack" (``data/stacks.csv``, the same numbers
the step model of :func:`infra_lab.estimate` uses): one convention for gradient bytes,
weight bytes and the allocator reserve across the package."""


PIPELINE_RANKS = ("most_loaded", "first", "last")
"""Which pipeline rank :func:`training_memory` reports (its ``pipeline_rank`` override): the most
loaded one (the default: what decides whether a plan fits), rank 0 (the embedding and the most
in-flight micro-batches; under a V schedule also the output layer and loss) or rank pp − 1 (the
output layer and loss, the fewest in-flight micro-batches; under a V schedule neither the
embedding nor the output layer: :func:`infra_lab.memory.stage_layers`). A published figure
logged by one rank only (Megatron's ``print_rank_last``) is compared with that rank."""


_STACK_KEYS = {"weight_bytes": "weight_bytes", "grad_bytes": "grad_buffer_bytes",
               "flash_attention": "flash_attention", "dropout": "dropout",
               "reserve_fraction": "memory_reserve_fraction", "reserve_bytes": "memory_reserve_bytes",
               "selective_mode": "selective_recompute"}


@dataclass(frozen=True)
class _MemoryInputs:
    """What :func:`training_memory` computes from: the scenario and its overrides, each
    override checked and each ``None`` replaced by the scenario's (or its stack's) value."""

    scenario: Any
    acc: Any                 # catalog.Accelerator the memory is computed for
    sp: dict                 # the software stack's parameters (data/stacks.csv)
    which: str               # one of PIPELINE_RANKS
    seq: int                 # sequence length [tokens]
    mbs: int                 # micro-batch [sequences]
    recompute: str           # one of RECOMPUTE
    zero: int                # ZeRO stage 0..3
    wb: float                # weight bytes [bytes/param]
    gb: float                # gradient bytes [bytes/param]
    opt_b: float             # optimizer-state bytes [bytes/param]
    e: float                 # activation bytes [bytes/element]
    reserve: float           # allocator reserve [fraction of the tensor bytes]
    reserve_b: float         # memory outside the allocator [bytes]
    flash: bool
    dropout: bool
    sel: str                 # one of SELECTIVE_MODES
    include_embeddings: bool

    @property
    def recompute_num_layers(self) -> int | None:
        """Layers of each pipeline chunk full recompute re-runs (training.recompute_num_layers;
        None: every layer, and always None unless recompute = "full")."""
        return self.scenario.training.recompute_num_layers if self.recompute == "full" else None

    @property
    def microbatches(self) -> float:
        """Micro-batches of one step on one data-parallel rank [-]."""
        tr, par = self.scenario.training, self.scenario.parallelism
        return tr.global_batch / (self.mbs * par.dp)

    @property
    def rematerialise(self) -> bool:
        """A recomputed layer is re-materialised in backward: full recompute, and per-op SAC."""
        tr = self.scenario.training
        return self.recompute == "full" or (self.recompute == "selective" and self.sel == "op"
                                            and tr.recompute_modules is None)


def unknown_override(bad: str, value: Any, allowed, called: str):
    """The UnknownNameError for an override ``bad`` = ``value`` that ``called`` (training_memory,
    largest_model) does not take, in :func:`infra_lab.errors.unknown_keyword`'s words: a common
    spelling first (mbs, micro_batch_size -> micro_batch: ``KEYWORD_SPELLINGS``), and for a key of
    the scenario's [parallelism] or [training] table that is no override (tp, pp, global_batch
    and its spelling gbs) how to change it on the scenario instead."""
    from ..scenario.parallelism_table import ParallelismConfig
    from ..scenario.training_table import TrainingConfig

    key = next((k for k in (bad, *KEYWORD_SPELLINGS.get(bad, ()))
                if k not in allowed and (k in ParallelismConfig.KEYS or k in TrainingConfig.KEYS)), None)
    note = None
    if key is not None and bad not in allowed and not any(k in allowed for k in KEYWORD_SPELLINGS.get(bad, ())):
        table = "parallelism" if key in ParallelismConfig.KEYS else "training"
        note = (f"{key} is the scenario's [{table}] key, not an override: "
                f"sc.replace({table}={{{key!r}: {value!r}}})")
    return unknown_keyword(bad, sorted(allowed), called, note=note, suggest=note is None)


def _memory_inputs(scenario, overrides: dict) -> _MemoryInputs:
    """:func:`training_memory`'s overrides applied to the scenario and checked (the errors name
    the field, the value and what is allowed); ``None`` overrides take the stack's values."""
    from .. import stacks
    from ..scenario import as_scenario

    scenario = as_scenario(scenario)   # a Scenario, dict, file or shipped name, as il.estimate takes it
    if scenario.training is None:
        raise ValidationError(f"training_memory: scenario {scenario.name!r} is a serving scenario ([serving] "
                              "table, no [training]); use il.serve (its memory) or inference_memory")
    o = dict(TRAINING_DEFAULTS)
    allowed = set(TRAINING_DEFAULTS) | {"micro_batch", "seq_len", "recompute", "zero", "accelerator",
                                        "pipeline_rank"}
    for k, v in overrides.items():
        if k not in allowed:
            raise unknown_override(k, v, allowed, "il.memory.training_memory()")
        o[k] = v
    for k in ("flash_attention", "dropout", "include_embeddings"):   # bool("false") was True
        if o[k] is not None:
            o[k] = V.boolean(k, o[k])
    which = o.get("pipeline_rank")
    which = "most_loaded" if which is None else which
    if not isinstance(which, str) or which not in PIPELINE_RANKS:
        raise ValidationError(f"pipeline_rank = {which!r}: allowed {', '.join(repr(x) for x in PIPELINE_RANKS)}")
    tr, par = scenario.training, scenario.parallelism
    acc = catalog.accelerator(o.get("accelerator") or scenario.hardware.accelerator)
    stack_name = scenario.stack if not o.get("accelerator") else _stack_on(scenario, acc.name)
    sp = stacks.params(stack_name)
    for k, sk in _STACK_KEYS.items():
        if o[k] is None:
            o[k] = sp[sk]
    seq, mbs = _checked_tokens(o, tr)
    recompute = tr.recompute if o.get("recompute") is None else o["recompute"]
    if recompute not in RECOMPUTE:
        raise unknown("recompute", recompute, RECOMPUTE)
    zero = o.get("zero")
    zero = par.zero if zero is None else zero
    from ..scenario._checks import _zero_stage

    zero = _zero_stage("zero", zero)   # a ZeRO stage 0..3, as [parallelism] zero (numpy's too)
    opt_b = o["optimizer_state_bytes"]
    if opt_b is None:
        opt_b = OPTIMIZER_STATE_BYTES[tr.optimizer]
    _check_byte_sizes(o, opt_b, acc)
    sel = o["selective_mode"]
    if not isinstance(sel, str):   # the stack's selective_recompute: an index into SELECTIVE_MODES
        codes = {float(i): m for i, m in enumerate(SELECTIVE_MODES)}
        if isinstance(sel, bool) or not isinstance(sel, (int, float)) or float(sel) not in codes:
            raise ValidationError(
                f"selective_mode = {sel!r}: allowed {', '.join(map(repr, SELECTIVE_MODES))} "
                f"(or the stack's selective_recompute code: "
                f"{', '.join(f'{int(i)} = {m!r}' for i, m in codes.items())})")
        sel = codes[float(sel)]
    if sel not in SELECTIVE_MODES:
        raise unknown("selective_mode", sel, SELECTIVE_MODES)
    return _MemoryInputs(scenario, acc, sp, which, seq, mbs, recompute, zero, float(o["weight_bytes"]),
                         float(o["grad_bytes"]), float(opt_b), float(o["activation_bytes"]),
                         float(o["reserve_fraction"]), float(o["reserve_bytes"]), bool(o["flash_attention"]),
                         bool(o["dropout"]), sel, o["include_embeddings"])


def _stack_on(scenario, accelerator: str) -> str:
    """The training stack of ``scenario`` on another ``accelerator`` (the ``accelerator``
    override): the vendor's default stack when the scenario names none; its own stack when that
    runs there; else the same framework's stack on the accelerator's platform (torchtitan-cuda ->
    torchtitan-rocm). A torchtitan scenario's memory on H200 was priced with Megatron-Core's
    factors (the vendor default), not with torchtitan's own."""
    from .. import stacks

    name = scenario.training.stack
    if name is None:
        return stacks.default_stack(accelerator)
    name = stacks.canonical(name)
    vendor = catalog.accelerator(accelerator).vendor
    if stacks.info(name)["vendor"] in (vendor, "any"):
        return name
    here = stacks.info(stacks.default_stack(accelerator))["platform"]
    there = stacks.info(name)["platform"]
    twin = name.replace(f"-{there}", f"-{here}")
    if twin != name and twin in stacks.names("training"):
        return twin
    raise ValidationError(f"accelerator = {accelerator!r}: the scenario's training.stack {name!r} does not run on "
                          f"{vendor} accelerators and has no {here} counterpart; give a scenario on that "
                          f"accelerator (Scenario.replace) with one of its stacks")


def _checked_tokens(o: dict, tr) -> tuple[int, int]:
    """(seq_len, micro_batch): the overrides in ``o`` or the scenario's training values ``tr``,
    within the compute model's bounds (:func:`infra_lab.compute.layer_ops`: beyond them no
    kernel exists)."""
    seq = check_positive("seq_len", o["seq_len"], integer=True) if o.get("seq_len") is not None else tr.seq_len
    mbs = (check_positive("micro_batch", o["micro_batch"], integer=True) if o.get("micro_batch") is not None
           else tr.micro_batch)
    if seq > 2**24:
        raise ValidationError(f"seq_len = {o['seq_len']!r}: allowed 1..2^24 tokens")
    if mbs > 2**16:
        raise ValidationError(f"micro_batch = {o['micro_batch']!r}: allowed 1..2^16 sequences")
    if seq * mbs > 2**31:
        raise ValidationError(f"seq_len x micro_batch = {seq * mbs:,} tokens per rank: at most 2^31")
    return seq, mbs


_NONZERO_BYTES = ("weight_bytes", "activation_bytes")
"""Byte widths that cannot be 0 in a training run: every rank holds working weights and keeps
activations for the backward pass. Gradient and optimizer-state bytes may be 0 (a frozen model
has no gradients; plain SGD without momentum no optimizer state), as may both reserves."""


def _check_byte_sizes(o: dict, opt_b, acc) -> None:
    """Refuse byte widths and reserves out of range: per-parameter / per-element widths
    (``o``'s weight, gradient and activation bytes, the optimizer-state bytes ``opt_b``) in
    0..16 (fp64 + its Adam moments are 8 each; weight and activation bytes above 0,
    :data:`_NONZERO_BYTES`), ``reserve_bytes`` at most the accelerator's HBM,
    ``reserve_fraction`` in [0, 1)."""
    for k in ("weight_bytes", "grad_bytes", "activation_bytes", "optimizer_state_bytes"):
        per = "parameter" if k != "activation_bytes" else "element"
        nonzero = k in _NONZERO_BYTES
        V.number(k, opt_b if k == "optimizer_state_bytes" else o[k], lo=0.0, lo_open=nonzero, hi=16.0,
                 allowed=f"a finite number, {'0 < x' if nonzero else '0 <= x'} <= 16 bytes per {per}"
                 + (" (a training run holds its working weights and its activations)" if nonzero else ""))
    V.number("reserve_bytes", o["reserve_bytes"], lo=0.0, hi=float(acc.hbm_bytes),
             allowed=f"a finite number of bytes, 0 <= x <= the {acc.name}'s {acc.hbm_bytes:.4g} bytes of HBM")
    V.number("reserve_fraction", o["reserve_fraction"], lo=0.0, hi=1.0, hi_open=True, allowed="0 <= x < 1")


def expert_data_parallel(tp: int, cp: int, dp: int, ep: int, etp: int) -> int:
    """Ranks that hold a replica of one routed-expert shard, tp·cp·dp/(ep·etp) [-]
    (Megatron-Core MoE parallel folding: the expert layout re-partitions the tp·cp·dp ranks
    of a pipeline stage into ep·etp expert-model-parallel ranks times this expert
    data-parallel group; the distributed optimizer shards expert states over it)."""
    return tp * cp * dp // (ep * etp)


def _check_fsdp_impl(fsdp_impl: object) -> None:
    """Refuse an ``fsdp_impl`` that is not one of :data:`FSDP_IMPLS`, naming the field
    (``parallelism.fsdp_impl``) and the valid names: the one check of the FSDP calls below."""
    if fsdp_impl not in FSDP_IMPLS:
        raise unknown("parallelism.fsdp_impl", fsdp_impl, FSDP_IMPLS)


def zero3_reduce_bytes(stack_params: dict, fsdp_impl: str = "torch") -> float:
    """Bytes per element of the gradients a ZeRO-3 / FSDP per-layer reduce-scatter sends
    [bytes/param], the one owner for the step time (the reduce-scatter's bytes) and the memory
    model (:func:`fsdp_reduce_scatter_bytes`, the reduce-scatter input held in backward).

    ``fsdp_impl = "torch"`` (PyTorch FSDP2, and DeepSpeed ZeRO-3 for ``zero = 3`` rows without
    ``fsdp``): the stack's ``fsdp_reduce_dtype_bytes``, the dtype the framework hands the
    reduce-scatter (torchtitan's ``mixed_precision_reduce`` float32; Megatron-LM's
    ``--use-torch-fsdp2`` passes no ``MixedPrecisionPolicy``, so the bf16 gradients' dtype;
    DeepSpeed's ``communication_data_type``, fp16 for fp16 runs). ``"megatron"``
    (Megatron-FSDP): the stack's ``grad_reduce_bytes``, its fp32 main-gradient buffers
    (Megatron-Core's custom FSDP of 2025). Sources per stack: data/stacks.csv.

    Examples
    --------
    >>> import infra_lab as il
    >>> zero3_reduce_bytes(il.stacks.params("megatron-core-cuda"))
    2.0
    >>> zero3_reduce_bytes(il.stacks.params("megatron-core-cuda"), "megatron")
    4.0
    """
    _check_fsdp_impl(fsdp_impl)
    key = "grad_reduce_bytes" if fsdp_impl == "megatron" else "fsdp_reduce_dtype_bytes"
    return _stack_param(stack_params, key)


def fsdp_reduce_scatter_bytes(stack_params: dict, fsdp_impl: str = "torch") -> float:
    """Bytes per parameter of the reduce-scatter input PyTorch FSDP2 holds from one FSDP
    unit's backward to the next's [bytes/param]: :func:`zero3_reduce_bytes` (the stack's
    ``fsdp_reduce_dtype_bytes``: the reduce dtype its ``MixedPrecisionPolicy`` sets, else the
    gradients' dtype) for ``fsdp_impl = "torch"``; 0 for Megatron-FSDP ("megatron"), which reduce-scatters from its own
    gradient buffers (not this mechanism). The memory kernel counts it only where the weights
    are fully sharded (:func:`infra_lab._kernels.memory.fsdp_reduce_scatter_buffer`: one unit's
    input, ``foreach_reduce`` in PyTorch's torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py,
    https://github.com/pytorch/pytorch/blob/010ae4a89516fa3be548ab16dff711414ec12d0b/torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py).

    Examples
    --------
    >>> import infra_lab as il
    >>> fsdp_reduce_scatter_bytes(il.stacks.params("torchtitan-cuda"))
    4.0
    >>> fsdp_reduce_scatter_bytes(il.stacks.params("megatron-core-cuda"), "megatron")
    0.0
    """
    _check_fsdp_impl(fsdp_impl)
    return 0.0 if fsdp_impl == "megatron" else zero3_reduce_bytes(stack_params, fsdp_impl)


def fsdp_gather_bytes(weight_bytes: float, precision: str, fsdp_float8_all_gather: bool = False) -> float:
    """Bytes per parameter of an FSDP layer unit's gathered non-expert weights [bytes/param]
    (component ``zero3_gather_buffer``: the layer being computed and the one prefetched):
    ``weight_bytes`` (the 16-bit parameter dtype), or, with torchao's float8 FSDP all-gather
    (``training.fsdp_float8_all_gather``, FP8 only), the FP8 format's bytes
    (:func:`infra_lab.catalog.format_bytes`: 1). torchao casts each ``Float8Linear`` weight shard
    to float8 in ``fsdp_pre_all_gather`` and wraps the gathered bytes with their scalar scale in
    a ``Float8TrainingTensor`` (``fsdp_post_all_gather``), no 16-bit copy
    (torchao/float8/fsdp_utils.py at
    https://github.com/pytorch/ao/blob/e4e681be649ccfb947bb4f03bde8bf3338929b18/torchao/float8/fsdp_utils.py );
    ``matmul_with_hp_or_float8_args`` uses that tensor as it is in the forward and in the
    backward's grad-input GEMM (``tensor_already_casted_to_fp8``, torchao/float8/float8_linear.py,
    same commit). APPROXIMATION: every non-expert parameter of a layer counts at the FP8 width
    (the norm weights, 2·h of Llama 3 8B's 218 M per layer, stay 16-bit; the per-tensor fp32
    scales are not counted); routed experts are not ``nn.Linear`` modules and stay 16-bit
    (the memory kernel applies this only to the non-expert part).

    The same width is what the per-layer all-gather sends: ``fsdp_pre_all_gather`` returns the
    float8 data as the all-gather input and the scale as metadata (not gathered), so the step
    model prices the gathers of the non-expert weight matrices at these bytes (its norm-vector
    gathers and the gradients' reduce-scatter keep their widths). APPROXIMATION: the scales'
    all-reduce (``precompute_float8_dynamic_scale_for_fsdp``, the setting torchao's and Trainy's
    runs pass: one all-reduce of a vector of one fp32 amax per float8 weight, once per step) is
    not priced.

    Parameters
    ----------
    weight_bytes : bytes per stored parameter [bytes/param], 2 for bf16 parameters
    precision : the training precision, e.g. 'bf16' or 'fp8' (the float8 all-gather applies to
        an FP8 one only)

    Examples
    --------
    >>> fsdp_gather_bytes(2.0, "fp8", True)
    1.0
    >>> fsdp_gather_bytes(2.0, "fp8")
    2.0
    """
    if fsdp_float8_all_gather and precision in FP8_PRECISIONS:
        return float(catalog.format_bytes(precision))
    return float(weight_bytes)


def fsdp_grad_queue_params(stack_params: dict, fsdp_impl: str = "torch") -> float:
    """Which FSDP units' unsharded gradients are in flight in backward
    (:func:`infra_lab._kernels.memory.fsdp_unsharded_grads`, component ``fsdp_unsharded_grads``):
    0 for PyTorch FSDP2 (``fsdp_impl = "torch"``: one layer unit's 16-bit gradients beside the
    held reduce-scatter input), else Megatron-FSDP's reduce-scatter queue capacity [params], the
    stack's ``megatron_fsdp_rs_queue_params`` (``suggested_RS_queue_capacity`` at least 1e9
    parameters, megatron_fsdp.py at Megatron-LM d98e8a6): the unsharded gradient buckets it has
    not yet freed.

    Examples
    --------
    >>> import infra_lab as il
    >>> fsdp_grad_queue_params(il.stacks.params("torchtitan-cuda"))
    0.0
    >>> fsdp_grad_queue_params(il.stacks.params("megatron-core-cuda"), "megatron")
    1000000000.0
    """
    _check_fsdp_impl(fsdp_impl)
    return _stack_param(stack_params, "megatron_fsdp_rs_queue_params") if fsdp_impl == "megatron" else 0.0


def _state_sharding(mi: _MemoryInputs) -> tuple[float, float, int, int]:
    """How weights, gradients and optimizer states are sharded: (non-expert data-parallel
    group dp·cp, expert data-parallel group tp·cp·dp/(ep·etp), ZeRO stage, FSDP flag) as the
    memory kernel prices them.

    FSDP / ZeRO-3 with pipeline parallelism (pp > 1) depends on the implementation
    (``parallelism.fsdp_impl``). PyTorch FSDP2 under ``torch.distributed.pipelining`` ("torch",
    torchtitan) does not reshard during the step: the pipeline stage turns off resharding after
    backward and gradient sync for every backward but the last (``set_reshard_after_backward(False)``,
    ``set_requires_gradient_sync(False)`` in ``backward_maybe_with_nosync``,
    https://github.com/pytorch/pytorch/blob/0138610331c90b8053a0bfc6df0175b200a1cad2/torch/distributed/pipelining/stage.py),
    and torchtitan's default policy does not reshard after forward under PP
    (``get_fsdp_reshard_after_forward_policy``,
    https://github.com/pytorch/torchtitan/blob/b5bcd76c66d0acb1a08b176d9639425bc55e0b2a/torchtitan/distributed/fsdp.py#L112-L135):
    parameters stay gathered and gradients unsharded across micro-batches, only the optimizer
    states remain sharded, priced as ZeRO-1. Megatron-FSDP ("megatron") reshards every FSDP
    unit after its forward and its backward and reduce-scatters the gradients after every
    backward whatever the micro-batch (``_post_forward``, ``_post_backward_release_module``,
    ``grad_reduce_every_bprop`` in
    https://github.com/NVIDIA/Megatron-LM/blob/d98e8a64ddf34856e74b24714e3bedb2f5a39553/megatron/core/distributed/fsdp/src/megatron_fsdp/megatron_fsdp.py),
    so its pipeline stages keep ZeRO-3 sharding (and the step prices its gathers and
    reduce-scatters per micro-batch).

    Fully sharded on a stack whose ``fsdp_fp32_sharded_params`` is 1 (torchtitan: PyTorch FSDP2
    over fp32 parameters with a ``MixedPrecisionPolicy``), the FSDP flag is returned as 2: the
    sharded fp32 parameter is the optimizer's master weight, and no 16-bit shard is kept
    ("FSDP ... keeps the high-precision sharded parameters in memory anyway", PyTorch's
    ``MixedPrecisionPolicy`` docstring,
    https://github.com/pytorch/pytorch/blob/05f814fecfca7d2a17f28cbe7e1cb2d8d4c13230/torch/distributed/fsdp/_fully_shard/_fsdp_api.py);
    Megatron (flag 0) shards its 16-bit modules and keeps fp32 main parameters beside them. Megatron-LM refuses PyTorch FSDP2 with pp > 1
    (``--use-torch-fsdp2 is not supported with pipeline parallelism``, megatron/training/arguments.py
    at the same commit)."""
    par = mi.scenario.parallelism
    g_ne = float(par.dp * par.cp)
    g_e = float(expert_data_parallel(par.tp, par.cp, par.dp, par.ep, par.etp))
    z_mem, f_mem = mi.zero, int(par.fsdp)
    if (mi.zero >= 3 or par.fsdp) and par.pp > 1 and par.fsdp_impl != "megatron":
        z_mem, f_mem = 1, 0
    if (z_mem >= 3 or f_mem) and mi.sp["fsdp_fp32_sharded_params"]:
        f_mem = 2     # the fp32 shards are the optimizer's masters: no 16-bit shard (kernel fsdp code 2)
    return g_ne, g_e, z_mem, f_mem


def _layer_activations(mi: _MemoryInputs) -> tuple[float, float, float, float, float, float]:
    """Activation bytes of one layer and micro-batch, averaged over the dense-like layer kinds
    and for an MoE layer [bytes]: (kept dense, kept MoE) under the plan's recompute — FP8
    saved GEMM inputs, the MoE FC1 input gathered over etp and the stack's selective mode
    included (:func:`activation_bytes_per_layer`); (working dense, working MoE) without
    recompute (the layer re-materialised in backward); (offloaded dense, offloaded MoE)
    copied to host memory (:func:`offloaded_bytes_per_layer`; zero without
    ``training.offload_modules``)."""
    spec, tr, par = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism
    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    n_dl = sum(v for k, v in counts.items() if k != "moe")
    gemm_in = saved_gemm_input_bytes(tr.precision, mi.sp)

    def per_layer(rc: str, fn=activation_bytes_per_layer) -> tuple[float, float]:
        per = fn(spec, mi.seq, mi.mbs, par.tp, sequence_parallel=par.sequence_parallel,
                 recompute=rc, flash_attention=mi.flash, dropout=mi.dropout, cp=par.cp,
                 activation_bytes=mi.e, selective_mode=mi.sel,
                 recompute_modules=tr.recompute_modules if rc == mi.recompute else None,
                 gemm_input_bytes=gemm_in, etp=par.etp,
                 offload_modules=tr.offload_modules if rc == mi.recompute else None,
                 sac_saves_attention=not tr.sac_recompute_attention,
                 min_offloaded_elements=mi.sp.get("min_offloaded_tensor_size"))
        dense = sum(b * counts.get(k, 0) / max(n_dl, 1) for k, b in per.items() if k != "moe")
        return dense, per.get("moe", 0.0)

    a_d, a_m = per_layer(mi.recompute)
    w_d, w_m = per_layer("none")
    o_d, o_m = per_layer(mi.recompute, offloaded_bytes_per_layer) if tr.offload_modules else (0.0, 0.0)
    return a_d, a_m, w_d, w_m, o_d, o_m


def _mtp_activations(mi: _MemoryInputs) -> tuple[float, float]:
    """One multi-token-prediction module's activation bytes per micro-batch
    (:func:`mtp_activation_bytes`): (kept under the plan's recompute, working set without
    recompute); (0, 0) for a model without MTP."""
    spec, tr, par = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism
    if not spec.mtp_layers:
        return 0.0, 0.0
    gemm_in = saved_gemm_input_bytes(tr.precision, mi.sp)

    def one(rc: str) -> float:
        return mtp_activation_bytes(spec, mi.seq, mi.mbs, par.tp, sequence_parallel=par.sequence_parallel,
                                    recompute=rc, flash_attention=mi.flash, dropout=mi.dropout, cp=par.cp,
                                    activation_bytes=mi.e, selective_mode=mi.sel,
                                    recompute_modules=tr.recompute_modules if rc == mi.recompute else None,
                                    gemm_input_bytes=gemm_in, etp=par.etp,
                                    sac_saves_attention=not tr.sac_recompute_attention)

    return one(mi.recompute), one("none")


def _with_cross_attention(mi: _MemoryInputs, hook, layer_act: tuple) -> tuple:
    """:func:`_layer_activations` of a multimodal model: its cross-attention layers' activations
    (``hook.cross_act``, :class:`infra_lab.multimodal.TrainingHook`) spread over all layers, kept
    unless full recompute, and in the working set of a re-materialised layer."""
    a_d, a_m, w_d, w_m, o_d, o_m = layer_act
    par = mi.scenario.parallelism
    x = hook.cross_act(par.tp, mi.mbs, par.cp) / len(mi.scenario.model_spec.layer_kinds())
    if mi.recompute != "full":
        a_d, a_m = a_d + x, a_m + x
    w_d, w_m = w_d + x, w_m + x
    return a_d, a_m, w_d, w_m, o_d, o_m


def _encoder_bytes(mi: _MemoryInputs, hook, nf: float) -> tuple[float, float]:
    """What a multimodal model's encoders add on the first pipeline stage [bytes], from
    ``hook.prologue``: (frozen encoders' 16-bit weights, which have no gradients or optimizer
    states; trained encoders' saved activations of ``nf`` in-flight micro-batches under the
    plan's recompute + a frozen encoder's one-layer forward working set). Trained encoders'
    parameters are the first stage's own (:func:`stage_candidates`' ``first_stage_params``)."""
    par = mi.scenario.parallelism
    pro = hook.prologue(mi.acc.name, par.tp, mi.mbs, par.cp, 0.0)
    key = {"none": "act_none", "selective": "act_sel", "full": "act_full"}[mi.recompute]
    return pro["frozen_weights"], nf * pro[key] + pro["frozen_work"]


def _head_and_cp_bytes(mi: _MemoryInputs) -> tuple[float, float, float]:
    """The loss and context-parallel inputs of a stage: (hidden-state elements of one
    micro-batch on this rank, tokens × hidden, over tp under sequence parallelism [elements];
    logits at the loss [bytes] (:func:`loss_logits_bytes`: fusion, chunking, compilation and
    the stack's fp32 copies); one layer's context-parallel attention buffers [bytes]
    (:func:`infra_lab._kernels.memory.cp_attention_bytes`))."""
    from .._kernels.memory import cp_attention_bytes

    spec, tr, par, sp = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism, mi.sp
    tok = mi.seq / par.cp * mi.mbs
    tok_h = tok * spec.hidden / (par.tp if par.sequence_parallel else 1)
    hq, hkv = cp_exchange_widths(spec, par.cp_repeat_kv)
    cp_attn = cp_attention_bytes(float(par.cp), float(CP_ROTATE_METHODS.index(par.cp_rotate)), tok, hq, hkv,
                                 float(par.tp), mi.e)
    logits = loss_logits_bytes(tok, spec.vocab, par.tp, mi.e, loss_fusion=tr.loss_fusion,
                               loss_chunks=tr.loss_chunks, loss_compiled=tr.loss_compiled,
                               bwd_fp32_tensors=(sp["loss_bwd_fp32_tensors"], sp["loss_parallel_bwd_fp32_tensors"]),
                               fp32_copies=sp["loss_fp32_copies"])
    return tok_h, logits, cp_attn


def _stage_io_kept(mi: _MemoryInputs) -> bool:
    """Pipeline stage buffers kept per micro-batch (PyTorch pipelining, the stack's
    ``pp_stage_buffers_persistent``) unless the run frees them (``training.pp_free_stage_buffers``)."""
    return (mi.scenario.parallelism.pp > 1 and bool(mi.sp["pp_stage_buffers_persistent"])
            and not mi.scenario.training.pp_free_stage_buffers)


def _stage_bytes(mi: _MemoryInputs, cand: dict, hook, sharding, layer_act, head_cp) -> tuple[tuple, float]:
    """The peak of one pipeline stage candidate: (bytes by
    :data:`infra_lab._kernels.memory.MEM_NAMES` component, in-flight micro-batches). The
    memory kernel (:func:`infra_lab._kernels.memory.stage_memory`) prices the stage's
    parameters and layers; added to it: a multimodal model's encoders on the first stage
    (:func:`_encoder_bytes`), the gradients that coexist with the peak when the stack allocates
    them at the first backward, PyTorch pipelining's per-micro-batch stage buffers
    (:func:`_stage_io_kept`), and the allocator reserve of all the tensor bytes.

    ``hook``: the multimodal :class:`infra_lab.multimodal.TrainingHook` or None; ``sharding``,
    ``layer_act``, ``head_cp``: what :func:`_state_sharding`, :func:`_layer_activations` (with
    :func:`_with_cross_attention`) and :func:`_head_and_cp_bytes` return."""
    from .._kernels.memory import (
        MEM_NAMES,
        allocator_reserve,
        grads_at_peak,
        inflight_schedule,
        stage_io_bytes,
        stage_memory,
        v_chunk_peak,
    )
    from ..scenario import PP_SCHEDULES
    from .pipeline import V_SCHEDULES, inflight_chunks

    tr, par = mi.scenario.training, mi.scenario.parallelism
    g_ne, g_e, z_mem, f_mem = sharding
    a_d, a_m, w_d, w_m, o_d, o_m = layer_act
    tok_h, logits, cp_attn = head_cp
    pp, vp, m = par.pp, par.vp, mi.microbatches
    emb = cand["p_embedding"]
    head_p = cand["p_head"]
    p_ne = cand["p_nonexpert"] - emb - head_p
    emb_all = emb + head_p
    if not mi.include_embeddings:     # nor their flags (mem below)
        emb_all = 0.0
    rank = cand["rank"]
    wq = fp8_weight_copy_bytes(tr.precision, mi.sp, tr.fp8_param_gather)
    rsb = fsdp_reduce_scatter_bytes(mi.sp, par.fsdp_impl)   # read by the kernel only fully sharded
    ugq = fsdp_grad_queue_params(mi.sp, par.fsdp_impl)       # likewise
    agb = fsdp_gather_bytes(mi.wb, tr.precision, tr.fsdp_float8_all_gather)   # likewise
    # float arguments where the kernel computes in floats (an int 0 would compile another
    # specialization of the memory kernels than the training step's)
    v_shape = pp > 1 and par.schedule in V_SCHEDULES
    if v_shape:   # the rank's chunk-forwards at its peak (from the order it runs), over its two chunks
        ends = inflight_chunks(pp, m, par.schedule)[rank]
        nf = (ends[0][0] + ends[0][1]) / 2    # rank-micro-batches: two chunks per rank
    else:
        nf = inflight_schedule(PP_SCHEDULES.index(par.schedule), pp, vp, float(rank), m)
    mtp_mod = _mtp_activations(mi)

    def mem(counts, emb_flag, head_flag, n_in):
        """stage_memory of the layers ``counts`` (n_dense, n_moe, n_dense_recomputed,
        n_moe_recomputed) with the embedding / output layer flags at ``n_in`` in flight."""
        # the multi-token-prediction modules sit with the output layer (has_head)
        n_mtp = mi.scenario.model_spec.mtp_layers if head_flag else 0
        # of them, those full recompute re-runs (none under the block method, recompute_num_layers)
        rx = mtp_modules_recomputed(n_mtp, mi.recompute_num_layers) if mi.rematerialise else n_mtp
        mtp = (float(n_mtp), float(rx), *mtp_mod) if n_mtp else (0.0, 0.0, 0.0, 0.0)
        on = 1.0 if mi.include_embeddings else 0.0
        return list(stage_memory(p_ne, cand["p_expert"], emb_all, float(par.tp), float(par.ep), float(par.etp),
                                 g_ne, g_e, z_mem, f_mem, mi.wb, mi.gb, mi.opt_b, *map(float, counts),
                                 float(a_d), float(a_m), float(w_d), float(w_m), 1 if mi.rematerialise else 0, n_in,
                                 tok_h, mi.e, 1.0 if mi.dropout else 0.0, float(emb_flag) * on,
                                 float(head_flag) * on, logits, 0.0, wq, float(o_d), float(o_m), cp_attn, *mtp,
                                 rsb, head_p if mi.include_embeddings else 0.0, ugq, agb))

    rank_counts = (cand["n_dense"], cand["n_moe"], cand["n_dense_recomputed"], cand["n_moe_recomputed"])
    vals = mem(rank_counts, cand["has_embedding"], cand["has_head"], nf)
    i_act = MEM_NAMES.index("activations")
    i_head = MEM_NAMES.index("embedding_and_head_activations")
    held = nf      # what the notes report: the in-flight count, or (first chunk's, second's)
    c0 = cand["chunks"][0] if v_shape else None
    if v_shape and c0 != cand["chunks"][1]:
        # a rank whose two chunks differ: each chunk's activations at its own in-flight count
        # (affine in the count: the rank's and its first chunk's bytes per micro-batch from counts
        # 1 and 0; the second chunk is the rest), at the end of the rank's peak where they are largest
        r1, r0 = mem(rank_counts, cand["has_embedding"], cand["has_head"], 1.0), \
            mem(rank_counts, cand["has_embedding"], cand["has_head"], 0.0)
        c0_counts = (c0[0], c0[1], c0[4], c0[5])
        k1, k0 = mem(c0_counts, c0[2], c0[3], 1.0), mem(c0_counts, c0[2], c0[3], 0.0)
        enc_w, enc_fixed = _encoder_bytes(mi, hook, 0.0) if hook is not None else (0.0, 0.0)
        # a multimodal model's encoders, on the first chunk with the embedding: bytes per micro-batch
        pro = _encoder_bytes(mi, hook, 1.0)[1] - enc_fixed if hook is not None else 0.0
        sa_r = r1[i_act] - r0[i_act] + (pro if cand["has_embedding"] else 0.0)
        sa_0 = k1[i_act] - k0[i_act] + (pro if c0[2] else 0.0)
        sh_r = r1[i_head] - r0[i_head]
        sh_0 = k1[i_head] - k0[i_head]
        (n0a, n1a), (n0b, n1b) = ends
        n0, n1 = v_chunk_peak(n0a, n1a, n0b, n1b, sa_0 + sh_0, (sa_r + sh_r) - (sa_0 + sh_0))
        vals[i_act] = r0[i_act] + n0 * sa_0 + n1 * (sa_r - sa_0)
        vals[i_head] = r0[i_head] + n0 * sh_0 + n1 * (sh_r - sh_0)
        held = (float(n0), float(n1))
        if hook is not None and cand["has_embedding"]:   # multimodal: the encoders' frozen parts
            vals[MEM_NAMES.index("weights")] += enc_w
            vals[i_act] += enc_fixed
    elif hook is not None and cand["has_embedding"]:   # multimodal: the encoders on the first stage
        enc_w, enc_act = _encoder_bytes(mi, hook, nf)
        vals[MEM_NAMES.index("weights")] += enc_w
        vals[i_act] += enc_act
    if not mi.sp["grad_buffer_persistent"] and pp > 1 and vp > 1:   # gradients allocated at first backward
        ig = MEM_NAMES.index("gradients")
        vals[ig] = grads_at_peak(vals[i_act], vals[ig], float(pp), float(vp), float(rank), m)
    if _stage_io_kept(mi):     # PyTorch pipelining's per-micro-batch stage buffers (stage_io_bytes)
        vals[i_act] += stage_io_bytes(float(pp), float(vp), float(rank), m, nf, tok_h * mi.e)
    # the reserve of the tensors above (the kernel's formula)
    vals[MEM_NAMES.index("allocator_reserve")] = allocator_reserve(float(sum(vals)), mi.reserve_b, mi.reserve)
    return tuple(vals), held


def _component_notes(mi: _MemoryInputs, cand: dict, nf: float, sharding: tuple, cp_attn: float) -> dict[str, str]:
    """The ``note`` of each component of :func:`training_memory`'s frame for the reported stage
    (``sharding``: :func:`_state_sharding`'s, so the notes say what the bytes were priced as)."""
    tr, par = mi.scenario.training, mi.scenario.parallelism
    g_ne, _, zero, fsdp = sharding
    z1, z2, z3 = zero >= 1 or fsdp, zero >= 2 or fsdp, zero >= 3 or fsdp
    kept = (mi.zero >= 3 or par.fsdp) and not z3     # ZeRO-3/FSDP kept gathered under pipeline parallelism
    wq = 0.0 if z3 else fp8_weight_copy_bytes(tr.precision, mi.sp, tr.fp8_param_gather)
    n_l = cand["n_dense"] + cand["n_moe"]
    if isinstance(nf, tuple):   # a V rank whose chunks differ: each chunk at its own count
        c0, c1 = cand["chunks"]
        held = (f"{n_l} layers in two chunks ({c0[0] + c0[1]} + {c1[0] + c1[1]}) x {nf[0]:g} + {nf[1]:g} "
                f"in-flight micro-batches, ")
    else:
        held = f"{n_l} layers x {nf:g} in-flight micro-batches, "
    return {
        "weights": f"{mi.wb:g} B/param; stage {cand['rank']} of {par.pp}"
                   + (f", sharded over {g_ne:g} ranks (ZeRO-3/FSDP)" if z3 else "")
                   + ("; the fp32 shards are the optimizer's master weights (PyTorch FSDP2), no 16-bit shard"
                      if fsdp == 2 else "")
                   + (f"; + {wq:g} B per linear-layer param of cached FP8 weights (Transformer Engine)"
                      if wq > 0 else "")
                   + (", FSDP under pipeline parallelism: gathered for the whole step (PyTorch pipelining)"
                      if kept else ""),
        "gradients": f"{mi.gb:g} B/param" + (" sharded (ZeRO-2+)" if z2 else "")
                     + (", unsharded until the last micro-batch's backward" if kept else ""),
        "optimizer_states": f"{mi.opt_b:g} B/param ({tr.optimizer})" + (f", sharded over {g_ne:g}" if z1 else ""),
        "zero3_gather_buffer": "two gathered layers (ZeRO-3/FSDP prefetch)"
                               + (f", their non-expert weights gathered in float8 "
                                  f"({fsdp_gather_bytes(mi.wb, tr.precision, True):g} B/param, torchao's float8 "
                                  "FSDP all-gather)" if tr.fsdp_float8_all_gather else ""),
        "fsdp_reduce_scatter_buffer": "one FSDP unit's gradients in the reduce dtype, held until the next unit's "
                                      "post-backward (PyTorch FSDP2 foreach_reduce): the larger of a layer and the "
                                      "output layer",
        "fsdp_unsharded_grads": ("the unsharded gradient buckets of the layers Megatron-FSDP's reduce-scatter queue "
                                 "has not freed, the one launched and the one accumulating (main-grad dtype)"
                                 if par.fsdp_impl == "megatron" else
                                 "one layer unit's unsharded 16-bit gradients, growing in its backward while the "
                                 "previous unit's reduce-scatter input is held (PyTorch FSDP2)"),
        "activations": held + f"recompute={mi.recompute}"
                       + (f" of {cand['n_dense_recomputed'] + cand['n_moe_recomputed']} layers (the first "
                          f"{mi.recompute_num_layers} of each chunk; the others keep their activations)"
                          if mi.recompute_num_layers is not None else "")
                       + ("; + the pipeline stage's per-micro-batch input/gradient buffers and kept outputs"
                          if _stage_io_kept(mi) else "")
                       + (f"; offloaded to host: {', '.join(tr.offload_modules)} (one layer's kept on the GPU)"
                          if tr.offload_modules else ""),
        "recompute_working_set": "one layer re-materialised in backward (full recompute, per-op SAC)",
        "embedding_and_head_activations": "final norm input, output layer input and logits (16-bit + fp32) on the "
                                          "stage with the output layer (the last; rank 0 under a V "
                                          "schedule); embedding dropout",
        "cp_attention_buffers": ((f"one layer's all-gathered K/V of {par.cp} CP ranks + "
                                  + ("full-length dK/dV before their reduce-scatter"
                                     if par.cp_rotate == "allgather-exposed" else "fp32 merge/gradient buffers")
                                  + f" ({cp_attn / GiB:.2f} GiB), beyond the logits they never meet")
                                 if cp_attn > 0 else "none (cp = 1 or the P2P ring: not counted)"),
        "allocator_reserve": f"{mi.reserve_b / 1e9:g} GB outside the allocator + {mi.reserve:.0%} of the tensor bytes",
    }


def training_memory(scenario: Scenario | dict[str, Any] | str | os.PathLike[str],
                    **overrides: Any) -> pl.DataFrame:
    """Per-GPU training memory of a Scenario, by component (most loaded GPU).

    Parameters
    ----------
    scenario : Scenario, scenario name, or plain dict
    **overrides : any of
        weight_bytes [bytes/param], grad_bytes [bytes/param; Megatron's fp32 main_grad: 4],
        flash_attention [bool], dropout [bool], reserve_fraction [fraction of the tensor bytes],
        reserve_bytes [bytes] (all four default to the scenario's software stack,
        ``data/stacks.csv``, as the step model uses them), optimizer_state_bytes
        [bytes/param, default by optimizer: AdamW 12, Muon 8, SGD 8], activation_bytes
        [bytes/element, 2], include_embeddings [bool, True], micro_batch, seq_len,
        recompute, zero (the scenario's values by default), pipeline_rank (one of
        :data:`PIPELINE_RANKS`: "most_loaded" by default; "first" or "last" report that
        pipeline rank's memory instead, as a framework that logs one rank's memory prints it).

    Returns
    -------
    polars.DataFrame
        component ("weights", "gradients", "optimizer_states", "zero3_gather_buffer",
        "fsdp_reduce_scatter_buffer" (PyTorch FSDP2's reduce-scatter input held between two FSDP
        units' backwards, :func:`fsdp_reduce_scatter_bytes`; 0 unless fully sharded by FSDP2),
        "fsdp_unsharded_grads" (the unsharded gradients of the FSDP units whose backward runs
        meanwhile: PyTorch FSDP2 one layer's in the 16-bit compute dtype, Megatron-FSDP the
        buckets its reduce-scatter queue holds, :func:`fsdp_grad_queue_params`; 0 unless fully
        sharded),
        "activations", "recompute_working_set", "embedding_and_head_activations",
        "cp_attention_buffers", "allocator_reserve"), bytes [bytes], GiB [GiB], note.

    Notes
    -----
    The formula is one numba kernel (:func:`infra_lab._kernels.memory.stage_memory`), the
    same the step model of :func:`infra_lab.estimate` evaluates per plan. Pipeline stages
    come from :func:`stage_candidates` (pp·vp need not divide the layers); every distinct
    stage is evaluated and the most loaded one is returned (or the rank ``pipeline_rank``
    names). Sharding: non-expert
    parameters over tp, routed experts over ep·etp; ZeRO-1 shards the optimizer states,
    ZeRO-2 also gradients, ZeRO-3/FSDP also weights, over the dp·cp data-parallel ranks
    (experts over the tp·cp·dp/(ep·etp) expert-data-parallel ranks). Rank r of the pipeline
    holds pp − r micro-batches in flight under 1F1B and pp + (pp − 1 − 2r)/vp under the
    interleaved schedule (Megatron-Core's warm-up count, :func:`infra_lab._kernels.memory.inflight`);
    ZB-H1 (``parallelism.pp_schedule``) holds 1F1B's. The V schedules (ZBV, V-Half, V-Min: two
    chunks per rank in a V) price each chunk apart: its own layers, embedding or output layer
    at its own in-flight micro-batches, read from the order the schedule runs
    (:func:`infra_lab.memory.inflight_chunks`; with m >= 2·pp pp, ⌊(pp + 2)/2⌋ or ⌊(pp + 4)/3⌋
    rank-micro-batches in all on every rank, but rank 0 keeps nearly all of them on its first
    chunk and at most one on its second, with the output layer and any MTP modules), at the end
    of the rank's peak where the two chunks' bytes are largest
    (:func:`infra_lab._kernels.memory.v_chunk_peak`). Full
    recompute with ``training.recompute_num_layers`` = N (Megatron's block method): the first N
    layers of each pipeline chunk keep only their input, the others their full activations,
    plus one recomputed layer's working set (:func:`infra_lab._kernels.memory.stage_activations`). ZeRO-3 keeps
    two gathered layers (the one computed and the one prefetched; their non-expert weights at 1 B
    per parameter with torchao's float8 FSDP all-gather, ``training.fsdp_float8_all_gather``:
    :func:`fsdp_gather_bytes`). Stacks with ``pp_stage_buffers_persistent`` = 1 (PyTorch pipelining)
    also hold a receive buffer per micro-batch for every stage input and output gradient and
    each forward's output until its backward (:func:`infra_lab._kernels.memory.stage_io_bytes`,
    in ``activations``), unless ``training.pp_free_stage_buffers`` (the run frees them, as
    Llama 3 §3.3.2 publishes). Context parallelism with ``parallelism.cp_rotate`` = "allgather"
    (PyTorch's context_parallel) adds one layer's transient attention buffers — the all-gathered
    K/V of every CP rank and the fp32 merge/gradient accumulators
    (:func:`infra_lab._kernels.memory.cp_attention_bytes`) — where they exceed the logits they
    never meet (``cp_attention_buffers``); with "allgather-exposed" (Llama 3's CP) the
    gathered K/V and the full-length dK/dV before their reduce-scatter; the P2P ring's
    buffers are not counted.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> total = il.memory.training_memory_total(sc)
    >>> 30e9 < total < 192e9
    True
    """
    from .._kernels.memory import MEM_NAMES

    mi = _memory_inputs(scenario, overrides)
    par = mi.scenario.parallelism
    sharding = _state_sharding(mi)
    layer_act = _layer_activations(mi)
    hook = None
    if mi.scenario.multimodal is not None:   # issue 20: encoders on the first stage, cross-attention
        from ..multimodal import training_hook

        # the sequences the encoders' pictures and clips are packed into are the override's
        # (a seq_len override kept the scenario's packing, and its memory differed from the
        # scenario's own at that seq_len)
        hook_sc = (mi.scenario if mi.seq == mi.scenario.training.seq_len
                   else mi.scenario.replace(training={"seq_len": mi.seq}))
        hook = training_hook(hook_sc)
        layer_act = _with_cross_attention(mi, hook, layer_act)
    head_cp = _head_and_cp_bytes(mi)
    # the rank asked for (stage_candidates always keeps rank 0 and rank pp - 1: they alone can hold
    # the embedding and the output layer); None: every candidate, the most loaded one wins
    want = {"most_loaded": None, "first": 0, "last": par.pp - 1}[mi.which]
    best, best_total, best_cand = None, -1.0, None
    for cand in stage_candidates(mi.scenario.model_spec, par.pp, par.vp,
                                 recompute_num_layers=mi.recompute_num_layers, schedule=par.schedule,
                                 **(hook.stage_extras() if hook is not None else {})):
        if want is not None and cand["rank"] != want:
            continue
        vals, nf = _stage_bytes(mi, cand, hook, sharding, layer_act, head_cp)
        total = float(sum(vals))
        if total > best_total:
            best, best_total, best_cand = vals, total, (cand, nf)
    cand, nf = best_cand
    notes = _component_notes(mi, cand, nf, sharding, head_cp[2])
    return pl.DataFrame(
        {"component": list(MEM_NAMES), "bytes": [float(v) for v in best],
         "GiB": [float(v) / GiB for v in best], "note": [notes[k] for k in MEM_NAMES]})


def training_memory_total(scenario: Scenario | dict[str, Any] | str | os.PathLike[str],
                          **overrides: Any) -> float:
    """Sum of :func:`training_memory` [bytes], the allocator reserve included.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> total = il.memory.training_memory_total(sc)
    >>> total == il.memory.training_memory(sc)["bytes"].sum(), round(total / 2**30, 1)   # GiB
    (True, 80.4)
    """
    return float(training_memory(scenario, **overrides)["bytes"].sum())


def fits(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], **overrides: Any) -> bool:
    """True when :func:`training_memory_total` ≤ the memory the accelerator's driver exposes
    (:attr:`infra_lab.catalog.Accelerator.memory_capacity_bytes`: nvidia-smi / rocminfo
    total where the catalog has it, e.g. 81,559 MiB on an H100 80GB, else the labelled
    HBM capacity).

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> il.memory.fits(sc), il.memory.fits(sc, micro_batch=64)
    (True, False)
    """
    from ..scenario import as_scenario

    scenario = as_scenario(scenario)   # a Scenario, dict, file or shipped name, as il.estimate takes it
    total = training_memory_total(scenario, **overrides)   # validates the overrides
    acc = catalog.accelerator(overrides.get("accelerator") or scenario.hardware.accelerator)
    return total <= acc.memory_capacity_bytes


def _reference_training() -> tuple[int, int, int]:
    """(nodes, GPUs per node, sequence length [tokens]) of the shipped scenario
    ``economics.REFERENCE_SCENARIO`` (ZAYA1's cluster on IBM Cloud,
    data/scenarios/zaya1-ibm-mi300x.toml, sourced there): the one owner of
    :func:`memory_sweep`'s default cluster and sequence length."""
    from ..economics.data import _reference_scenario

    sc = _reference_scenario()
    return sc.hardware.nodes, sc.hardware.gpus_per_node, sc.training.seq_len


def memory_sweep(presets: list[str], accelerators: list[str], *, seq_len: int | None = None,
                 micro_batch: int = 1, precision: str = "bf16", zero: int = 1,
                 recompute: str = "none", nodes: int | None = None, gpus_per_node: int | None = None,
                 **overrides: Any) -> pl.DataFrame:
    """Per-GPU training memory of several models on several devices, plain data parallel.

    Every combination is a Scenario with tp = pp = cp = ep = 1 on ``nodes`` × ``gpus_per_node``
    GPUs (dp = all of them), ``global_batch = micro_batch · dp`` and the given ZeRO stage.
    ``seq_len``, ``nodes`` and ``gpus_per_node`` default (``None``) to those of the shipped
    scenario ``economics.REFERENCE_SCENARIO`` (ZAYA1's 128 × 8 MI300X, 4,096 tokens). On a
    rack-scale part (GB200, GB300, MI450X: 72-GPU domains) whose domain the cluster does not
    fill whole, each domain holds the most whole nodes that divide the cluster
    (``hardware.domain_gpus``, e.g. 64 of 72 for 128 × 8): plain data parallelism's memory does
    not depend on it.

    Parameters
    ----------
    presets : model preset names, e.g. ['llama3-8b', 'llama3-70b'] (il.models.preset_names()
        lists them)
    accelerators : accelerator catalog names, e.g. ['MI300X', 'H100-SXM']
        (il.catalog.accelerator_names() lists them)

    Returns
    -------
    polars.DataFrame
        model, accelerator, component, bytes [bytes], GB [1e9 bytes], capacity_GB, total_GB,
        fits (total ≤ capacity)

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.memory.memory_sweep(["llama3-8b"], ["H100-SXM", "MI300X"], seq_len=4096)
    >>> df.height, "fits" in df.columns
    (22, True)
    """
    from ..scenario import Scenario

    frames = []
    presets = V.sequence("presets", presets, "model preset names")
    if seq_len is None or nodes is None or gpus_per_node is None:
        ref_nodes, ref_gpn, ref_seq = _reference_training()
        seq_len = ref_seq if seq_len is None else seq_len
        nodes = ref_nodes if nodes is None else nodes
        gpus_per_node = ref_gpn if gpus_per_node is None else gpus_per_node
    for k, v in (("micro_batch", micro_batch), ("nodes", nodes), ("gpus_per_node", gpus_per_node)):
        V.integer(k, v)     # each Scenario re-checks them; here so that nodes × gpus_per_node is a number
    V.integer("micro_batch", micro_batch, hi=2**16)   # training.micro_batch's bound, named as given (not
                                                      # as the global batch it makes)
    accelerators = V.sequence("accelerators", accelerators, "accelerator names")
    for field, names in (("presets", presets), ("accelerators", accelerators)):
        if not names:
            raise ValidationError(f"{field} = {names!r}: expected at least one name")
    for p in presets:
        for a in accelerators:
            acc = catalog.accelerator(a)
            sc = Scenario.from_dict({
                "model": {"preset": p},
                "hardware": _dp_hardware(acc.name, nodes, gpus_per_node),
                "training": {"seq_len": seq_len, "micro_batch": micro_batch,
                             "global_batch": micro_batch * nodes * gpus_per_node,
                             "precision": precision, "recompute": recompute},
                "parallelism": {"zero": zero},
            })
            df = training_memory(sc, **overrides)
            tot = float(df["bytes"].sum())
            frames.append(df.select("component", "bytes").with_columns(
                pl.lit(p).alias("model"), pl.lit(acc.name).alias("accelerator"),
                (pl.col("bytes") / 1e9).alias("GB"), pl.lit(acc.memory_capacity_bytes / 1e9).alias("capacity_GB"),
                pl.lit(tot / 1e9).alias("total_GB"), pl.lit(tot <= acc.memory_capacity_bytes).alias("fits")))
    return pl.concat(frames).select("model", "accelerator", "component", "bytes", "GB",
                                    "capacity_GB", "total_GB", "fits")


def _dp_hardware(accelerator: str, nodes: int, gpus_per_node: int) -> dict:
    """memory_sweep's [hardware] table: ``nodes`` × ``gpus_per_node`` GPUs of ``accelerator``;
    where the part's scale-up domain spans nodes and the cluster does not fill it whole, the
    job's GPUs per domain are the most whole nodes (at most the domain) that divide the cluster."""
    from ..scenario.hardware_table import HardwareConfig, whole_node_domain_gpus

    hw = {"accelerator": accelerator, "nodes": nodes, "gpus_per_node": gpus_per_node}
    domain = HardwareConfig.from_dict({"accelerator": accelerator, "nodes": 1,
                                       "gpus_per_node": gpus_per_node}).scaleup_domain
    if domain > gpus_per_node and nodes * gpus_per_node % domain:
        dg = whole_node_domain_gpus(nodes * gpus_per_node, gpus_per_node, domain)
        if dg > gpus_per_node:
            hw["domain_gpus"] = dg
        else:
            hw["scaleup_domain"] = gpus_per_node
    return hw


KORTHIKANTI_QUANTITIES = (
    ("params+optimizer", "fig1_weights_grads_optimizer_GiB", "none", False),
    ("activations, no recompute", "fig1_activations_no_recompute_GiB", "none", False),
    ("activations, selective + SP", "fig1_activations_selective_sp_GiB", "selective", True),
)
"""The quantities :func:`korthikanti_check` compares: (label, the column of
data/measurements/korthikanti2022_table5.csv holding the published GiB, the recompute and the
sequence parallelism they are computed with)."""


def korthikanti_runs() -> pl.DataFrame:
    """The runs of Korthikanti et al. 2022 whose per-GPU memory the paper publishes (Figure 1,
    https://arxiv.org/abs/2205.05198): the selective + SP rows of
    data/measurements/korthikanti2022_table5.csv that carry the ``fig1_*`` columns [GiB], with
    their configuration (model shape, accelerator, s, TP, PP, VP, micro-batch, precision) —
    the one copy of those numbers, read here and by the step-time validation.

    Examples
    --------
    >>> import infra_lab as il
    >>> "tp" in il.memory.korthikanti_runs().columns
    True
    """
    from ..validation._common import MEASUREMENT_DIR

    n, text = catalog.Col("int", required=True, positive=True), catalog.Col("str", required=True)
    schema = {"case": text, "accelerator": text, "nic": text, "precision": text,
              **{c: n for c in ("layers", "hidden", "heads", "vocab", "seq_len", "nodes", "gpus_per_node", "tp", "pp",
                                "vp", "micro_batch", "global_batch")},
              "zero": catalog.Col("int", required=True, nonneg=True),
              **{col: catalog.Col("float", positive=True) for _, col, _, _ in KORTHIKANTI_QUANTITIES}}
    t = catalog.read_table(MEASUREMENT_DIR / "korthikanti2022_table5.csv", schema)
    cols = [col for _, col, _, _ in KORTHIKANTI_QUANTITIES]
    t = t.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in cols))
    if t.is_empty() or t.select(pl.any_horizontal(pl.col(c).is_null() for c in cols)).to_series().any():
        raise ValidationError("korthikanti2022_table5.csv: expected every fig1_* column on the rows that carry one "
                              f"({', '.join(cols)})")
    return t


def korthikanti_check() -> pl.DataFrame:
    """Reproduce Korthikanti et al. 2022's per-GPU memory [GiB] (Figure 1 at the Table 5 runs,
    https://arxiv.org/abs/2205.05198; GiB as Calculon prints them).

    The runs of :func:`korthikanti_runs` (their accelerator, s, vocabulary, TP, PP, VP and
    micro-batch, DP = 1) through :func:`training_memory` with the paper's conventions: weights
    in the run's 16-bit format and fp32 gradients (Megatron main_grad), bytes per element from
    :func:`infra_lab.catalog.format_bytes`; Adam fp32 master + moments
    (:data:`OPTIMIZER_STATE_BYTES`: 18 B/param in all), dropout, no flash attention. Published
    values are as encoded by calculon-ai/calculon from the paper's Figure 1; they count
    transformer layers only, so ``predicted_gib`` excludes the embedding and LM-head
    (``with_embeddings_gib`` adds them back).

    Returns
    -------
    polars.DataFrame : model, quantity, published_gib, predicted_gib, error_pct,
        with_embeddings_gib, with_embeddings_error_pct

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.memory.korthikanti_check()
    >>> df.columns[:3]
    ['model', 'quantity', 'published_gib']
    """
    from ..models import get
    from ..scenario import Scenario

    rows = []
    for r in korthikanti_runs().iter_rows(named=True):
        label = r["case"].removeprefix("K22-").removesuffix("-sel+sp")
        preset = f"megatron-{label.lower()}"
        spec = get(preset)
        if (spec.layers, spec.hidden, spec.heads, spec.vocab) != (r["layers"], r["hidden"], r["heads"], r["vocab"]):
            raise ValidationError(f"{r['case']}: preset {preset!r} is not the row's model "
                                  f"(L {r['layers']}, h {r['hidden']}, a {r['heads']}, V {r['vocab']})")
        sc = Scenario.from_dict({
            "model": {"preset": preset},
            "hardware": {"accelerator": r["accelerator"], "nodes": r["nodes"], "gpus_per_node": r["gpus_per_node"],
                         "nic": r["nic"]},
            "training": {"seq_len": r["seq_len"], "global_batch": r["global_batch"], "micro_batch": r["micro_batch"]},
            "parallelism": {"tp": r["tp"], "pp": r["pp"], "vp": r["vp"], "zero": r["zero"]}})
        common = dict(weight_bytes=catalog.format_bytes(r["precision"]), grad_bytes=catalog.format_bytes("fp32"),
                      dropout=True, flash_attention=False, reserve_fraction=0.0, reserve_bytes=0.0)
        for qi, (quantity, col, rec, sp) in enumerate(KORTHIKANTI_QUANTITIES):
            pub = r[col]
            sc_q = sc.replace(parallelism={"sequence_parallel": sp}, training={"recompute": rec})
            bare = training_memory(sc_q, include_embeddings=False, **common)
            full = training_memory(sc_q, include_embeddings=True, **common)

            def pick(df: pl.DataFrame, q: int = qi) -> float:
                comps = (["weights", "gradients", "optimizer_states"] if q == 0
                         else ["activations", "embedding_and_head_activations"])
                return float(df.filter(pl.col("component").is_in(comps))["bytes"].sum()) / GiB

            p, pe = pick(bare), pick(full)
            rows.append({"model": label, "quantity": quantity, "published_gib": pub,
                         "predicted_gib": p, "error_pct": 100 * (p / pub - 1),
                         "with_embeddings_gib": pe, "with_embeddings_error_pct": 100 * (pe / pub - 1)})
    return pl.DataFrame(rows)
