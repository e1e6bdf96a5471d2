"""The core of the serving model: :class:`ServeResult`, the stack-independent defaults of
``data/serving/parameters.csv`` (:func:`parameter`), the inputs of the numba kernel
(:func:`serving_inputs`, from the compute, memory and collectives models), the kernel's
threaded runner, and :func:`serve` with the open-loop request-rate solve. The input checks
and precision codes the other submodules share live here too."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .. import _validate as V
from .. import catalog
from .._repr import Printout
from ..catalog import Col
from ..errors import ValidationError, named_keywords, unknown
from ..scenario import Scenario, ServingConfig, as_scenario

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from ..models import ModelSpec
    from ..scenario import HardwareConfig

OBJECTIVES = {  # name -> True when larger is better
    "output_tokens_per_s": True, "output_tokens_per_s_per_gpu": True, "total_tokens_per_s": True,
    "total_tokens_per_s_per_gpu": True,
    "tokens_per_s_per_user": True, "ttft_s": False, "tpot_s": False, "e2e_latency_s": False,
    "usd_per_million_output_tokens": False, "usd_per_million_tokens": False,
    "usd_per_million_output_tokens_all_in": False, "usd_per_million_input_tokens": False,
}
"""Objectives of :func:`serve_search`."""

BREAKDOWN = (
    "attention_gemm", "mlp_gemm", "expert_gemm", "lm_head", "attention_decode", "attention_prefill",
    "tp_comm", "ep_comm", "pp_p2p", "layer_overhead", "step_overhead", "mtp_draft", "encoder",
)
"""Components of :attr:`ServeResult.breakdown` [s per engine cycle; per batch when static]."""

_WPREC = ("bf16", "fp8", "fp4")
_KVPREC = ("bf16", "fp8")
_PARAM_SCHEMA = {
    "parameter": Col("str", required=True), "value": Col("float", required=True),
    "unit": Col("str", required=True),
    "basis": Col("str", required=True, choices=("measured", "library constant", "derived", "fitted", "assumption")),
}


@functools.cache
def _parameters() -> dict[str, float]:
    t = catalog.read_table(catalog.DATA_DIR / "serving" / "parameters.csv", _PARAM_SCHEMA)
    return dict(zip(t["parameter"].to_list(), (float(v) for v in t["value"]), strict=True))


def parameter(name: str) -> float:
    """A stack-independent serving default from data/serving/parameters.csv.

    Examples
    --------
    >>> parameter("mtp_acceptance")
    0.85
    """
    p = _parameters()
    if not isinstance(name, str) or name not in p:
        raise unknown("serving parameter", name, p, where="data/serving/parameters.csv")
    return p[name]


_EAR_SCHEMA = {
    "stack": Col("str", required=True), "world_sizes": Col("str", required=True),
    "max_bytes": Col("float", required=True, positive=True),
    "max_bytes_tp2": Col("float", required=True, positive=True),
    "max_inclusive": Col("bool", required=True),
    "oneshot_below_bytes_tp4": Col("float", required=True, positive=True),
    "oneshot_below_bytes_tp8": Col("float", required=True, positive=True),
    "basis": Col("str", required=True, choices=("library constant", "derived", "assumption")),
}


@functools.cache
def engine_allreduce() -> pl.DataFrame:
    """The serving engines' own tensor-parallel all-reduce (data/serving/engine_allreduce.csv),
    one row per serving stack: the world sizes it runs on (``world_sizes``, ``;``-separated),
    the largest message it takes [B] above 2 ranks (``max_bytes``) and at 2 ranks
    (``max_bytes_tp2``), whether that limit is inclusive, and the message size [B] below which
    it runs the one-shot kernel at <= 4 and at 6-8 ranks (TensorRT-LLM, which picks from a
    lookup table per tokens and hidden size: a derived approximation, see the row's note). Read
    from the engines' sources; the serving kernel prices the TP all-reduces of these stacks
    with them (:func:`engine_allreduce_rule`)."""
    t = catalog.read_table(catalog.DATA_DIR / "serving" / "engine_allreduce.csv", _EAR_SCHEMA)
    top = np.finfo(np.float64).nmant  # world sizes are bits of one float in the kernel's rule
    for st, ws in zip(t["stack"].to_list(), t["world_sizes"].to_list(), strict=True):
        if not all(w.strip().isdigit() and 2 <= int(w) <= top for w in ws.split(";")):
            raise ValidationError(f"engine_allreduce.csv: stack {st!r}: world_sizes {ws!r} is not a "
                                  f"';'-separated list of integers from 2 to {top} (the kernel's rule keeps "
                                  "them as bits of one float)")
    return t


ENGINE_ALLREDUCE_KERNELS = ("one-shot", "two-shot", "library")
"""What :func:`engine_allreduce_kernel` answers: the engine's one-shot or two-shot kernel, or
the library collective (NCCL/RCCL)."""


@functools.cache
def _engine_rules() -> dict[str, np.ndarray]:
    from .._kernels import collectives as KC

    out = {}
    for r in engine_allreduce().iter_rows(named=True):
        E = np.zeros(KC.N_E)
        E[KC.E_ON] = 1.0
        E[KC.E_WS_MASK] = float(sum(2 ** int(w) for w in set(r["world_sizes"].split(";"))))
        E[KC.E_MAX] = r["max_bytes"]
        E[KC.E_MAX_TP2] = r["max_bytes_tp2"]
        E[KC.E_MAX_INCL] = 1.0 if r["max_inclusive"] else 0.0
        E[KC.E_OS_TP4] = r["oneshot_below_bytes_tp4"]
        E[KC.E_OS_TP8] = r["oneshot_below_bytes_tp8"]
        E.flags.writeable = False
        out[r["stack"]] = E
    return out


def engine_allreduce_rule(stack: str | None) -> np.ndarray:
    """The engine all-reduce rule of a serving stack as the kernel's float vector
    (:data:`infra_lab._kernels.collectives.N_E` entries, read-only): its row of
    :func:`engine_allreduce`, or all zeros (the library runs every all-reduce) for a stack
    without one (the ``-early`` stacks, training stacks) or ``None``."""
    from .._kernels import collectives as KC

    if stack is None:
        return np.zeros(KC.N_E)
    if not isinstance(stack, str):
        raise ValidationError(f"stack = {stack!r}: expected a stack name (str) or None")
    r = _engine_rules().get(stack)
    return np.zeros(KC.N_E) if r is None else r.copy()


def engine_allreduce_kernel(stack: str, ranks: int, message_bytes: float) -> str:
    """Which all-reduce a serving engine runs for one tensor-parallel all-reduce of
    ``message_bytes`` [B] (the whole message, every rank's copy; a whole number of bytes) over ``ranks`` GPUs of one
    fully connected node, by the engine's rule in :func:`engine_allreduce`: "library" outside
    its world sizes or above its size limit, "one-shot" at 2 ranks and below the one-shot
    threshold, else "two-shot". The rule is the serving kernel's own
    (:func:`infra_lab._kernels.collectives.engine_allreduce_choice`, called here), so the two
    cannot disagree; a group spanning nodes always runs the library. APPROXIMATION: topology
    checks beyond full connectivity (PCIe-only groups), environment overrides, the engines'
    alternative paths (symmetric-memory, quick and fused all-reduces) and TensorRT-LLM's
    per-(tokens, hidden) table (replaced by byte thresholds, see the row's note) are not
    modelled.

    Examples
    --------
    >>> engine_allreduce_kernel("vllm-cuda", 8, 7168 * 2 * 16)
    'one-shot'
    >>> engine_allreduce_kernel("vllm-cuda", 8, 7168 * 2 * 64)
    'two-shot'
    >>> engine_allreduce_kernel("vllm-cuda", 8, 16 * 2**20)
    'library'
    """
    from .._kernels import collectives as KC

    t = engine_allreduce()
    stacks = t["stack"].to_list()
    if not isinstance(stack, str) or stack not in stacks:
        raise unknown("serving stack with an engine all-reduce", stack, stacks,
                      where="data/serving/engine_allreduce.csv")
    ranks = V.integer("ranks", ranks, lo=1)
    message_bytes = V.byte_count("message_bytes", message_bytes)
    a = KC.engine_allreduce_choice(_engine_rules()[stack], float(message_bytes), ranks, ranks)
    return {KC.ALG_ONESHOT: "one-shot", KC.ALG_TWOSHOT: "two-shot"}.get(int(a), "library")


def mtp_acceptance_for_tokens_per_step(tokens_per_step: float, draft_tokens: int) -> float:
    """The chained draft-token acceptance ``a`` [-] at which a request advances
    ``tokens_per_step`` tokens per verification step with ``draft_tokens`` MTP draft tokens: the
    root of E(a) = 1 + a + ... + a^k = tokens_per_step (the serving kernel's E, its
    ``_tokens_per_step``, solved by bisection to 1e-12).

    Sources publish the tokens per step, not ``a``: TensorRT-LLM's "acceptance length",
    ATOM's "avg toks/fwd" (accepted draft tokens + the bonus token, averaged over steps). The
    chained reading (each later draft token accepted with the same probability given the
    previous one was) is the model's; a source's per-position acceptances need not follow it,
    but E, which sets the throughput, is matched exactly.

    Examples
    --------
    >>> round(mtp_acceptance_for_tokens_per_step(2.82, 3), 4)
    0.7701
    """
    from .._kernels.serving import _tokens_per_step

    k = V.integer("draft_tokens", draft_tokens, lo=1, hi=64)
    t = V.positive("tokens_per_step", tokens_per_step)
    if not 1.0 <= t <= 1.0 + k:
        raise ValidationError(f"tokens_per_step = {tokens_per_step!r}: with {k} draft token(s) a step advances "
                              f"1 (every draft rejected) to {1 + k} (all accepted) tokens; allowed 1..{1 + k}")
    lo, hi = 0.0, 1.0
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        if _tokens_per_step(k, mid)[1] < t:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServeResult(Printout):
    """What one serving deployment delivers (all per deployment unless named per GPU).

    Attributes
    ----------
    output_tokens_per_s, total_tokens_per_s : generated / prompt + generated tokens [tokens/s]
    output_tokens_per_s_per_gpu, total_tokens_per_s_per_gpu : the same per GPU [tokens/s]
    ttft_s : mean time to first token [s]; tpot_s : mean time per output token after the
        first [s]; None when ``serving.output_tokens = 1`` (:func:`tpot_defined`: no token
        follows the first, so TPOT is undefined and e2e_latency_s = ttft_s)
    tokens_per_s_per_user : 1 / tpot_s, the interactivity a user sees [tokens/s]; None with
        tpot_s
    e2e_latency_s : mean request latency = ttft + (output_tokens − 1)·tpot [s]
    memory_per_gpu_bytes : weights + KV cache of the running requests + the runtime reserve [B]
    weights_per_gpu_bytes, kv_cache_per_gpu_bytes : the parts [B]
    fits : the weights and at least one request's KV cache fit (the deployment runs)
    max_concurrency : requests whose KV cache fits at once across the deployment [-], each at
        the mean context of a request in flight (prompt + half the output; not the full context
        :func:`infra_lab.memory.max_inference_batch` counts) and at most the engine's
        ``max_num_seqs`` per replica
    kv_limited : more requests in flight than fit; the rest queue (their wait is in ttft_s)
    prefill_queue_s : the part of ttft_s a request waits for the engine's step budget [s]: on a
        mixed engine whose prompts outrun the budget (``chunk_tokens``) every step is full, the
        engine admits chunk-minus-decode prompt tokens a step, and past that concurrency more
        requests add no throughput, only this wait (0 below it; docs/serving.md, "the budget
        full")
    running_requests : requests decoding at once [-]
    prefill_time_fraction : share of GPU time spent on prompts (and encoders) [-]
    cycle_s : time of an average engine cycle [s] (of the whole batch when static)
    prompt_tokens : mean prompt the engine prefills: input_tokens + the positions of the
        request's pictures/audio [tokens] (what input tokens/s counts)
    gpus : GPUs of the deployment; stack : the software stack used
    breakdown : polars DataFrame component, seconds [s per cycle], fraction
    """

    scenario: Scenario = field(repr=False)
    stack: str
    gpus: int
    output_tokens_per_s: float
    total_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    total_tokens_per_s_per_gpu: float
    ttft_s: float
    tpot_s: float | None
    tokens_per_s_per_user: float | None
    e2e_latency_s: float
    memory_per_gpu_bytes: float
    weights_per_gpu_bytes: float
    kv_cache_per_gpu_bytes: float
    fits: bool
    max_concurrency: int
    kv_limited: bool
    running_requests: float
    prefill_time_fraction: float
    cycle_s: float
    prompt_tokens: float
    prefill_queue_s: float
    breakdown: pl.DataFrame = field(repr=False, compare=False)

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout titled with the model, the GPUs
        and the concurrency, one field a line, 4 significant figures, each with its unit
        (``output_tokens_per_s_per_gpu  925.1 tokens/s/GPU``); the exact values are the attributes
        and :meth:`to_dict`, the time per cycle ``r.breakdown``, $ per million tokens
        :meth:`costs` (the footer says so).

        Examples
        --------
        >>> import infra_lab as il
        >>> print(str(il.serve(il.load_scenario("maia-class-serving-mi300x"))).splitlines()[0])
        ServeResult: maia-class-serving-mi300x, 8 × MI300X (vllm-rocm), concurrency 256
        """
        from .._repr import readable

        sc = self.scenario
        # the footer names the two things the fields leave out, as Estimate's names .breakdown and
        # .mfu_table(): a user looking for "$ per million tokens" in the printout found no word of costs()
        return readable(self, title=f"{sc.name}, {self.gpus:,} × {sc.hardware.accelerator} ({self.stack}), "
                                    f"concurrency {sc.serving.concurrency:,}",
                        footer="exact values: the attributes, or .to_dict(); time per cycle: .breakdown; "
                               "$ per million tokens: .costs('owned' | 'rented' | USD per GPU-hour)")

    def to_dict(self) -> dict[str, Any]:
        """The scalar results as a dict, named and in the units of the attributes above (the
        names :func:`infra_lab.serve_search`'s frame uses for the same numbers); not
        ``scenario`` and ``breakdown`` (``r.breakdown`` is the frame). As
        :meth:`infra_lab.training.Estimate.to_dict` for a training estimate:
        ``pl.DataFrame([r.to_dict()])`` is a one-row frame, and :func:`infra_lab.sweep` takes a
        ServeResult returned by its function as these outputs.

        Examples
        --------
        >>> import infra_lab as il
        >>> r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
        >>> d = r.to_dict()
        >>> d["gpus"], d["stack"], d["output_tokens_per_s"] == r.output_tokens_per_s
        (8, 'vllm-rocm', True)
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("scenario", "breakdown")}

    def costs(self, price_usd_per_gpu_hour: float | str = "owned") -> dict[str, float]:
        """$ per million tokens at ``price_usd_per_gpu_hour`` [USD/GPU-h]: a number, or "owned"
        (the default) / "rented" for the economics model's price of this deployment's
        accelerator (:func:`price_for`, :func:`gpu_hour_price`); see :func:`token_costs`.

        A deployment that does not fit in memory (``fits`` False) is priced all the same, with a
        UserWarning that says so ("ServeResult.costs: does not fit: this deployment needs X GB per
        GPU against the Y GB a job can address on ...; priced as if it had enough memory"), as
        ``il.economics.run_cost`` warns for a training plan that does not fit."""
        from .costs import _token_costs, _warn_if_it_does_not_fit, price_for

        if price_usd_per_gpu_hour is None:
            raise ValidationError("price_usd_per_gpu_hour = None: expected a finite number > 0 [USD/GPU-h], "
                                  "'owned' or 'rented'")
        out = _token_costs(self, price_for(self.scenario.hardware.accelerator, price_usd_per_gpu_hour))
        _warn_if_it_does_not_fit(self, "ServeResult.costs")
        return out


# ---------------------------------------------------------------------------------------
# Inputs of the kernel
# ---------------------------------------------------------------------------------------
_CLASS_OF = {  # compute.COMPONENTS of a GEMM -> serving class
    "attn_gemm": 0, "mlp_gemm": 1, "shared_expert_gemm": 1, "router": 1, "mtp_proj": 1,
    "expert_gemm": 2, "head": 3, "attention": -1,
}


def _gemm_class(component: str, name: str = "") -> int:
    """0 attention projection, 1 MLP / shared expert / router / MTP projection, 2 routed
    expert, 3 LM head, -1 attention core (timed by the attention model instead)."""
    if component not in _CLASS_OF:
        raise ValidationError(f"serving: GEMM {name!r} (component {component!r} of compute.gemm_records) is not "
                              "one serving times (attention / MLP / expert / head); hybrid SSM layers are not modelled")
    return _CLASS_OF[component]


def _records(spec, tp: int, etp: int = 1) -> list[tuple[str, str, float, float, float, str]]:
    """(kind, name, n, k, count, component) of the model's GEMMs at tp (experts at etp)."""
    from .. import compute

    r = compute.gemm_records(spec, 1, 1, tp, expert_tp=etp)
    return list(zip(r.kind, r.name, r.n, r.k, r.count, r.component, strict=True))


def _attention_params(spec) -> tuple[float, float]:
    """Attention projection weights of the decoder layers and of the MTP modules [count]
    (the n·k of every attention GEMM of compute.gemm_records at tp = 1)."""
    kinds = spec.layer_kinds()
    main = mtp = 0.0
    for kind, _name, n, k, cnt, comp in _records(spec, 1):
        if comp != "attn_gemm":
            continue
        if kind == "mtp":
            mtp += n * k * cnt * spec.mtp_layers
        else:
            main += n * k * cnt * kinds.count(kind)
    return float(main), float(mtp)


def _mtp_expert_params(spec) -> float:
    """Routed-expert matrix parameters of the MTP modules (stored like the experts) [count]."""
    from ..models import _FFN_ACTS

    if not spec.mtp_layers or not spec.experts or spec.layer_kinds()[-1] != "moe":
        return 0.0
    width = spec.expert_ffn_hidden or spec.ffn_hidden
    return float(spec.mtp_layers * spec.experts * _FFN_ACTS[spec.ffn_act] * spec.hidden * width)


def _imbalance_constants(spec, eps) -> np.ndarray:
    """c_ep of the busiest-rank load 1 + c_ep/√(tokens per rank), from the normal closed form
    of :func:`infra_lab.compute.moe_load_imbalance` (exactly of that shape) at 10,000 tokens."""
    from .. import compute

    out = np.zeros(max(eps) + 1)
    if spec.experts:
        for e in eps:
            f = compute.moe_load_imbalance(10_000, spec.experts, spec.top_k, int(e), method="normal")
            out[e] = (f - 1.0) * 100.0
    return out


def _busiest_expert_tables(spec, eps) -> np.ndarray:
    """[max ep + 1, n_T]: distinct experts on the busiest EP rank at 0 … n_T − 1 tokens
    (:func:`infra_lab.compute.moe_busiest_rank_experts_table`, with the model's group-limited
    routing), each ep's row continued past its table by the mean rank's closed form, as
    :func:`infra_lab.compute.moe_busiest_rank_experts` continues it."""
    from .. import compute

    tabs = {}
    if spec.experts:
        for e in eps:
            if int(e) > 1:
                tabs[int(e)] = compute.moe_busiest_rank_experts_table(
                    spec.experts, spec.top_k, int(e), spec.router_groups, spec.router_group_topk)
    n_t = max([2, *(t.size for t in tabs.values())])
    out = np.zeros((max(eps) + 1, n_t))
    for e, t in tabs.items():
        out[e, :t.size] = t
        rest = np.arange(t.size, n_t, dtype=float)
        out[e, t.size:] = (spec.experts / e) * (1.0 - (1.0 - spec.top_k / spec.experts) ** rest)
    return out


@dataclass(frozen=True)
class _Inputs:
    M: np.ndarray
    H: np.ndarray
    wins: np.ndarray
    tp_index: np.ndarray
    kv_share: np.ndarray
    etp_index: np.ndarray
    imb_a: np.ndarray
    busy_a: np.ndarray
    ne_n: np.ndarray
    ne_k: np.ndarray
    ne_cls: np.ndarray
    ne_cnt: np.ndarray
    ne_mtp: np.ndarray
    ex_n: np.ndarray
    ex_k: np.ndarray
    P: np.ndarray
    g: tuple

    def args(self) -> tuple:
        return (self.M, self.H, self.wins, self.tp_index, self.kv_share, self.etp_index, self.imb_a, self.busy_a, self.ne_n, self.ne_k,
                self.ne_cls, self.ne_cnt, self.ne_mtp, self.ex_n, self.ex_k, self.P, *self.g)


def weight_precisions(accelerator: str) -> tuple[str, ...]:
    """The serving weight precisions (of ``bf16``, ``fp8``, ``fp4``) an accelerator's matrix
    instructions run: bf16 everywhere, fp8 where the compute model prices FP8 GEMMs
    (:func:`infra_lab.compute._params.supported`), fp4 where the part has a block FP4 format
    (:func:`fp4_format`: :attr:`infra_lab.catalog.Accelerator.nvfp4_block_scaling` or
    :attr:`~infra_lab.catalog.Accelerator.mx_block_scaling`). What ``[serving]
    weight_precision`` / ``attention_precision`` / ``mtp_precision`` and
    :func:`serve_search`'s ``weight_precisions`` accept.

    >>> weight_precisions("H100"), weight_precisions("MI355X")
    (('bf16', 'fp8'), ('bf16', 'fp8', 'fp4'))
    """
    from ..compute._params import supported

    acc = catalog.accelerator(accelerator)
    gemm = supported(acc)
    return ("bf16", *(p for p in ("fp8",) if p in gemm), *(("fp4",) if _has_fp4(acc) else ()))


def _has_fp4(acc) -> bool:
    """Whether a catalog Accelerator has a block FP4 format (NVFP4 or MX block scaling)."""
    return bool(acc.nvfp4_block_scaling or acc.mx_block_scaling)


def fp4_format(accelerator: str) -> str:
    """The block FP4 format ``weight_precision = "fp4"`` is stored and run in on a platform:
    "nvfp4" where the part takes NVIDIA's NVFP4 (:attr:`infra_lab.catalog.Accelerator.nvfp4_block_scaling`:
    Blackwell; TensorRT-LLM's FP4 checkpoints are NVFP4), else "mxfp4" where it has OCP MX
    block-scaled instructions (:attr:`~infra_lab.catalog.Accelerator.mx_block_scaling`: AMD
    CDNA 4). A part with neither (H100, H200, MI300X, MI325X) has no FP4 format: a
    ValidationError naming the accelerator and the precisions it has.

    >>> fp4_format("B200"), fp4_format("MI355X")
    ('nvfp4', 'mxfp4')
    """
    acc = catalog.accelerator(accelerator)
    if acc.nvfp4_block_scaling:
        return "nvfp4"
    if acc.mx_block_scaling:
        return "mxfp4"
    have = [n for n in catalog.accelerator_names() if _has_fp4(catalog.accelerator(n))]
    raise ValidationError(
        f"weight_precision = 'fp4' on accelerator = {accelerator!r}: {acc.name} has no FP4 matrix instructions "
        "(neither NVFP4 nor MXFP4 block scaling; they come with NVIDIA Blackwell and AMD CDNA 4); allowed weight "
        f"precisions on {acc.name}: {', '.join(weight_precisions(acc.name))}; accelerators with FP4: "
        f"{', '.join(have)}")


def _gemm_precision(accelerator: str, prec: str) -> str:
    """The compute model's GEMM precision for a serving precision on a part: fp4 runs in the
    part's block format (:func:`fp4_format`: NVFP4's 1×16 FP8 scales on Blackwell, MXFP4's 1×32
    E8M0 scales on CDNA 4), fp8 as fp8; a precision the part has no matrix instructions for runs
    at bf16 (weight-only; the scenario checks refuse it for weights, attention and MTP)."""
    if prec not in weight_precisions(accelerator):
        return "bf16"
    return fp4_format(accelerator) if prec == "fp4" else prec


def _min_rows(accelerator: str) -> int:
    """Rows below which decode GEMMs are not padded: the compute model's smallest macro-tile
    height [rows]."""
    from .. import compute

    return int(min(compute.gemm_model(accelerator, "bf16").tile_m))


def _chunk_default(acc: catalog.Accelerator, p: dict[str, float]) -> float:
    big = acc.memory_capacity_bytes >= parameter("large_gpu_memory_bytes")
    return p["chunk_tokens_160gb"] if big else p["chunk_tokens"]


def serving_inputs(spec: ModelSpec, hardware: HardwareConfig, params: dict[str, float],
                   tps: Iterable[int], etps: Iterable[int], eps: Iterable[int] = (1,), *,
                   stack: str | None) -> _Inputs:
    """Kernel inputs for a model on a hardware configuration with a serving stack's factors.

    Parameters
    ----------
    spec : ModelSpec; hardware : HardwareConfig; params : :func:`infra_lab.stacks.params`
    tps, etps, eps : TP, expert-TP and EP sizes the configurations will use [-]
    stack : (keyword, required) the serving stack's name: its engine all-reduce rule
        (:func:`engine_allreduce_rule`)
        prices the TP all-reduces; None: the library collective prices every one (required so that
        no caller drops the rule by omission: the reference reads it from the scenario's stack)
    """
    from .. import collectives, compute, memory
    from .._kernels import serving as K

    acc = hardware.accelerator_spec
    kinds = spec.layer_kinds()
    n_dense, n_moe = kinds.count("dense"), kinds.count("moe")
    M = np.zeros(K.N_M)
    M[K.M_HIDDEN] = spec.hidden
    M[K.M_HEADS] = spec.heads
    if spec.attention == "mla":
        M[K.M_KV_EL] = spec.kv_lora_rank + spec.qk_rope_head_dim
        M[K.M_DQ_DEC] = spec.kv_lora_rank + spec.qk_rope_head_dim
        M[K.M_DV_DEC] = spec.kv_lora_rank
        M[K.M_DQ_PRE] = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        M[K.M_DV_PRE] = spec.v_head_dim
    else:
        M[K.M_KV_EL] = 2 * spec.kv_heads * spec.head_dim
        M[K.M_DQ_DEC] = M[K.M_DV_DEC] = M[K.M_DQ_PRE] = M[K.M_DV_PRE] = spec.head_dim
    M[K.M_N_DENSE] = n_dense
    M[K.M_N_MOE] = n_moe
    M[K.M_EXPERTS] = spec.experts
    M[K.M_TOPK] = spec.top_k
    bd = {r["component"]: r["params_total"] for r in spec.param_breakdown().iter_rows(named=True)}
    embhead = bd["embeddings"] + bd["position_embeddings"] + bd["lm_head"]
    p_exp = memory.expert_matrix_params(spec)
    M[K.M_P_EXPERT] = p_exp
    M[K.M_P_EMBHEAD] = embhead
    M[K.M_P_REST] = spec.params_total - p_exp - embhead
    M[K.M_P_MTP_EXP] = _mtp_expert_params(spec)
    M[K.M_P_MTP] = spec.params_mtp - M[K.M_P_MTP_EXP]
    M[K.M_EXPERT_NATIVE_B] = memory.format_bytes(spec.expert_weight_format) if spec.expert_weight_format else 0.0
    M[K.M_MTP_MOE] = 1.0 if M[K.M_P_MTP_EXP] > 0 else 0.0
    M[K.M_P_ATTN], M[K.M_P_MTP_ATTN] = _attention_params(spec)
    wins = np.array(spec.attention_windows(), dtype=np.float64)

    H = np.zeros(K.N_H)
    H[K.H_PEAK_BF16] = acc.peak("bf16")
    H[K.H_PEAK_FP8] = acc.peak_flops.get("fp8", 0.0)
    H[K.H_PEAK_FP4] = acc.peak_flops.get("fp4", 0.0)
    H[K.H_HBM_BYTES] = acc.memory_capacity_bytes  # what the driver exposes (catalog)
    H[K.H_BW_EFF] = acc.hbm_bw_Bps * compute.hbm_efficiency(acc.name)
    # the job's GPUs per scale-up domain: the placement il.collective uses (domain-major over
    # domain_gpus), so a partly used NVL72 rack (domain_gpus = 64 of 72) prices its collectives
    # as the reference and il.collective do
    H[K.H_DOMAIN] = hardware.domain_gpus
    # the FP4 storage format (NaN where the part has none: the checks refuse fp4 there, and a row
    # that reached the kernel with it would fail _result's finite check instead of pricing 0 bytes)
    fp4 = fp4_format(acc.name) if "fp4" in weight_precisions(acc.name) else None
    H[K.H_FP4_BYTES] = memory.format_bytes(fp4) if fp4 else math.nan
    H[K.H_GEMM_SCALE] = params["gemm_time_scale"]
    H[K.H_MEM_SCALE] = params["memory_time_scale"]
    H[K.H_ATT_EFF_PRE] = params["attention_prefill_efficiency"]
    H[K.H_ATT_EFF_DEC] = params["attention_decode_efficiency"]
    H[K.H_COMM_SCALE] = params["comm_time_scale"]
    H[K.H_STEP_OVH] = params["step_overhead_s"]
    H[K.H_LAYER_OVH] = params["layer_overhead_s"]
    H[K.H_MIXED] = params["mixed_batching"]
    H[K.H_CHUNK] = _chunk_default(acc, params)
    H[K.H_CHUNK_DP] = params["dp_attention_chunk_split"]
    H[K.H_MEM_UTIL] = params["memory_utilization"]
    H[K.H_DISPATCH_B] = params["dispatch_bytes"]
    H[K.H_MAX_SEQS] = params["max_num_seqs"]
    H[K.H_MIN_ROWS] = _min_rows(acc.name)
    H[K.H_REQ_OVH] = params["request_overhead_s"]
    H[K.H_SEQ_OVH] = params["seq_overhead_s"]
    H[K.H_BW_PEAK] = acc.hbm_bw_Bps
    H[K.H_KFIX] = params["kernel_fixed_scale"] * compute.kernel_fixed_s(acc.name)
    H[K.H_KV_BYTES_BF16] = memory.format_bytes("bf16")  # KV-cache bytes per element (number-format table)
    H[K.H_KV_BYTES_FP8] = memory.format_bytes("fp8")
    H[K.H_EAR:] = engine_allreduce_rule(stack)

    tps = sorted(set(int(t) for t in tps))
    etps = sorted(set(int(t) for t in etps))
    base = _records(spec, 1)
    order: list[tuple[str, str, float, float, int]] = []  # (kind, name, per forward, per MTP pass, class)
    for kind, name, _n, _k, cnt, comp in base:
        c = _gemm_class(comp, name)
        if c in (0, 1, 3):
            layers = 1 if kind == "head" else kinds.count(kind)
            mtp = float(cnt) * spec.mtp_layers if kind == "mtp" else 0.0
            order.append((kind, name, float(cnt) * layers, mtp, c))
    ne_n = np.zeros((len(tps), len(order)))
    ne_k = np.zeros((len(tps), len(order)))
    for ti, tp in enumerate(tps):
        tab = {(kd, nm): (n, k) for kd, nm, n, k, _c, _co in _records(spec, tp)}
        for j, (kd, nm, *_rest) in enumerate(order):
            ne_n[ti, j], ne_k[ti, j] = tab[(kd, nm)]
    ne_cls = np.array([o[4] for o in order], dtype=np.int64)
    ne_cnt = np.array([o[2] for o in order])
    ne_mtp = np.array([o[3] for o in order])
    ex_names = [nm for kd, nm, _n, _k, _c, comp in base if kd == "moe" and comp == "expert_gemm"]
    ex_n = np.zeros((len(etps), max(len(ex_names), 1)))
    ex_k = np.zeros((len(etps), max(len(ex_names), 1)))
    for ei, etp in enumerate(etps):
        if not ex_names:
            break
        tab = {nm: (n, k) for kd, nm, n, k, _c, _co in _records(spec, 1, etp) if kd == "moe"}
        for j, nm in enumerate(ex_names):
            ex_n[ei, j], ex_k[ei, j] = tab[nm]
    tp_index = np.full(max(tps) + 1, -1, dtype=np.int64)
    for i, t in enumerate(tps):
        tp_index[t] = i
    etp_index = np.full(max(etps) + 1, -1, dtype=np.int64)
    for i, t in enumerate(etps):
        etp_index[t] = i
    P = collectives.collective_time_params(hardware).array  # read-only, as in the Python calls
    # a serving GEMM's time composes the compute model's two parts with the stack's factors
    # (kernel _roofline): its compute part (tiles, waves, split-K / stream-K, per-unit loads;
    # the GEMM with no HBM limit: mem_bw_Bps = inf) x gemm_time_scale, and its HBM read
    # (weights + activations) x memory_time_scale (floored at HBM peak), the larger of the two,
    # plus the fixed time per kernel once (H_KFIX: x the stack's kernel_fixed_scale). So the
    # efficiencies the kernel reads are those of the GEMM without its memory term and without
    # its fixed time (before 2026-12-07 they held both: a GEMM whose compute term won paid the
    # fixed time twice (entry 23), and above the decode row padding the weights were read at
    # compute.hbm_efficiency x gemm_time_scale instead of the stack's memory rate (entry 24);
    # docs/serving-history.md)
    models_ = [dataclasses.replace(compute.gemm_model(acc.name, _gemm_precision(acc.name, p)), fixed_s=0.0,
                                   mem_bw_Bps=math.inf)
               for p in _WPREC]
    # the share of a token's KV cache one GPU holds, per tp (memory's rule, its one owner)
    kv_share = np.array([memory.kv_share_per_gpu(spec, t) for t in tps])
    return _Inputs(M, H, wins, tp_index, kv_share, etp_index, _imbalance_constants(spec, eps),
                   _busiest_expert_tables(spec, eps), ne_n, ne_k, ne_cls, ne_cnt,
                   ne_mtp, ex_n, ex_k, P,
                   tuple(g.args() for g in models_))


def _media(sc: Scenario, tp: int | None = None) -> tuple[float, float]:
    """(encoder seconds per request, prompt positions the media add [tokens]) of the
    scenario's pictures and audio on a replica of ``tp`` GPUs, from
    :func:`infra_lab.multimodal.encoder_prefill` (the one owner of encoder time); (0, 0) for
    text requests."""
    sv = sc.serving
    if not (sv.images_per_request or sv.audio_s_per_request):
        return 0.0, 0.0
    from .. import multimodal as mm

    pre = mm.encoder_prefill(sc.multimodal, sc.hardware.accelerator, images=sv.images_per_request,
                             image_size=sv.image_size, audio_s=sv.audio_s_per_request,
                             tp=int(tp or sv.tp), batch=sv.encoder_batch, hardware=sc.hardware)
    return float(pre.time_s), float(pre.lm_positions)


def _cfg_row(sv: ServingConfig, concurrency: float | None = None,
             media: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    from .._kernels import serving as K

    r = np.zeros(K.N_K)
    r[K.K_TP], r[K.K_PP], r[K.K_DP], r[K.K_EP] = sv.tp, sv.pp, sv.dp, sv.ep
    r[K.K_DPA] = 1.0 if sv.dp_attention else 0.0
    r[K.K_WPREC] = _WPREC.index(sv.weight_precision)
    r[K.K_KVPREC] = _KVPREC.index(sv.kv_precision)
    mtp = sv.spec_decoding == "mtp"
    r[K.K_MTPK] = sv.mtp_draft_tokens if mtp else 0
    r[K.K_ACC] = (sv.mtp_acceptance if sv.mtp_acceptance is not None else parameter("mtp_acceptance")) if mtp else 0.0
    r[K.K_CONC] = sv.concurrency if concurrency is None else concurrency
    r[K.K_IN], r[K.K_OUT] = sv.input_tokens + media[1], sv.output_tokens
    r[K.K_CHUNK] = sv.chunk_tokens or 0
    r[K.K_ENC] = media[0]
    r[K.K_NPROMPTS] = sv.num_prompts or 0
    r[K.K_STATIC] = 1.0 if sv.batching == "static" else 0.0
    r[K.K_LOCKSTEP] = 1.0 if sv.lockstep else 0.0
    r[K.K_APREC] = -1.0 if sv.attention_precision is None else _WPREC.index(sv.attention_precision)
    r[K.K_MPREC] = -1.0 if sv.mtp_precision is None else _WPREC.index(sv.mtp_precision)
    return r


def _etp(sv: ServingConfig) -> int:
    return (sv.tp * (sv.dp if sv.dp_attention else 1)) // sv.ep


def _as_serving(scenario, call: str = "il.serve") -> Scenario:
    scenario = as_scenario(scenario)
    if scenario.serving is None:
        raise ValidationError(f"scenario {scenario.name!r} has no [serving] table (it is a training scenario); "
                              f"{call} needs [model], [hardware] and [serving]")
    return scenario


def _stack_params(sc: Scenario, stack_params, params=None) -> dict[str, float]:
    """The serving stack's factors with the overrides given as ``stack_params`` or, under the
    name :func:`infra_lab.estimate` and :func:`infra_lab.search` use, ``params`` (one of the two)."""
    from .. import stacks

    if params is not None:
        if stack_params is not None:
            raise ValidationError(f"params = {params!r} and stack_params = {stack_params!r}: give the stack "
                                  "overrides once (params is another name for stack_params)")
        stack_params = params
    if stack_params is not None and not isinstance(stack_params, dict):
        raise ValidationError(f"stack_params = {stack_params!r}: expected a dict of stack parameter -> number")
    return stacks.params(sc.stack, stack_params)


# ---------------------------------------------------------------------------------------
# Running the kernel; serve
# ---------------------------------------------------------------------------------------
_POOL: list = []  # the thread pool of _run, made on first use


def _run(cfg: np.ndarray, inp: _Inputs, memo: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Kernel outputs for every configuration row: 2 blocks per thread (numba's thread count,
    NUMBA_NUM_THREADS), each with its own memo, on a pool of Python threads (the kernel
    releases the GIL). ``memo``: the (keys, values) arrays of :func:`_memo_for` to reuse
    across calls on the same ``inp`` (a memo holds pure functions of its keys: reusing it
    changes no result, only saves refilling it)."""
    import concurrent.futures

    import numba

    from .._kernels import serving as K

    cfg = np.ascontiguousarray(cfg)
    n = cfg.shape[0]
    out = np.zeros((n, K.N_OUT))
    threads = max(1, numba.get_num_threads())
    blocks = max(1, min(n, 2 * threads))  # 2 per thread: balance vs duplicated memo fills
    keys, vals = K.memo(blocks) if memo is None or len(memo[0]) < blocks else memo
    args = inp.args()
    bounds = [(b * n // blocks, (b + 1) * n // blocks) for b in range(blocks)]
    if blocks == 1 or threads == 1:
        for b, (lo, hi) in enumerate(bounds):
            K.serve_kernel(cfg, out, lo, hi, *args, keys[b], vals[b])
        return out
    if not _POOL or _POOL[0][1] != threads:
        _POOL[:] = [(concurrent.futures.ThreadPoolExecutor(max_workers=threads), threads)]
    pool = _POOL[0][0]
    jobs = [pool.submit(K.serve_kernel, cfg, out, lo, hi, *args, keys[b], vals[b]) for b, (lo, hi) in enumerate(bounds)]
    for j in jobs:
        j.result()
    return out


def _memo_for() -> tuple[np.ndarray, np.ndarray]:
    """A memo for every block :func:`_run` may use (2 per numba thread), to pass to several calls."""
    import numba

    from .._kernels import serving as K

    return K.memo(2 * max(1, numba.get_num_threads()))


def tpot_defined(output_tokens: float) -> bool:
    """Whether a request of ``output_tokens`` generated tokens has a TPOT: the time per output
    token after the first, (e2e − TTFT)/(O − 1), needs a second token. With one output token
    (a prefill-only request) it is undefined: :class:`ServeResult` gives ``tpot_s`` and
    ``tokens_per_s_per_user`` as None, and :func:`serve_search` refuses TPOT bounds and
    objectives. The benchmarks the model is compared with do the same: vLLM's
    benchmark_serving.py (calculate_metrics) counts a request in its TPOT only when
    output_len > 1 (https://github.com/vllm-project/vllm/blob/main/benchmarks/benchmark_serving.py).

    >>> tpot_defined(1), tpot_defined(2)
    (False, True)
    """
    # checked: a Scenario (or a string) passed here failed as "TypeError: '>' not supported"
    return V.number("output_tokens", output_tokens, lo=1.0) > 1


def _result(sc: Scenario, stack: str, o: np.ndarray, positions: float = 0.0) -> ServeResult:
    from .._kernels import serving as K

    gpus = sc.serving.gpus
    b = o[K.N_RES:]
    cyc = float(o[K.O_CYCLE])
    bd = pl.DataFrame({"component": list(BREAKDOWN), "seconds": [float(x) for x in b],
                       "fraction": [float(x) / cyc if cyc > 0 else 0.0 for x in b]})
    vals = [float(x) for x in o[: K.N_RES]]
    for name, v in zip(K.OUT_NAMES, vals, strict=True):
        if not math.isfinite(v) or v < 0:
            raise ValidationError(f"serve: {name} = {v!r} for scenario {sc.name!r}; the inputs are outside what "
                                  "the model covers (check the sizes)")
    decode = tpot_defined(sc.serving.output_tokens)
    return ServeResult(
        scenario=sc, stack=stack, gpus=gpus,
        output_tokens_per_s=vals[K.O_OUT_TPS], total_tokens_per_s=vals[K.O_TOTAL_TPS],
        output_tokens_per_s_per_gpu=vals[K.O_OUT_TPS_GPU], total_tokens_per_s_per_gpu=vals[K.O_TOTAL_TPS_GPU],
        ttft_s=vals[K.O_TTFT], tpot_s=vals[K.O_TPOT] if decode else None,
        tokens_per_s_per_user=vals[K.O_TPS_USER] if decode else None,
        e2e_latency_s=vals[K.O_E2E], memory_per_gpu_bytes=vals[K.O_MEM_GPU],
        weights_per_gpu_bytes=vals[K.O_WEIGHTS_GPU], kv_cache_per_gpu_bytes=vals[K.O_KV_GPU],
        fits=bool(vals[K.O_FITS] > 0.5), max_concurrency=int(min(vals[K.O_MAX_CONC], 2**62)),
        kv_limited=bool(vals[K.O_KV_LIMITED] > 0.5), running_requests=vals[K.O_RUNNING],
        prefill_time_fraction=vals[K.O_PREFILL_FRAC], cycle_s=cyc,
        prompt_tokens=float(sc.serving.input_tokens) + positions, prefill_queue_s=vals[K.O_PREFILL_QUEUE],
        breakdown=bd,
    )


@named_keywords(name="il.serve")
def serve(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], *,
          stack_params: dict[str, float] | None = None, reference: bool = False,
          params: dict[str, float] | None = None) -> ServeResult:
    """Throughput, latency and memory of one serving deployment.

    Parameters
    ----------
    scenario : Scenario with a [serving] table, the same as a plain dict, or a .toml path
    stack_params : overrides of the serving stack's factors ({parameter: value}, names from
        ``il.stacks.params(sc.stack)``); ``params`` is the same
    reference : evaluate with the plain-Python reference instead of the numba kernel
    params : the stack-factor overrides under the name every call that takes them uses
        (:func:`infra_lab.estimate`, :func:`infra_lab.search`, :func:`serve_search`,
        :func:`infra_lab.multimodal.serve`, the CLI's ``--param``); give it or ``stack_params``,
        not both

    Returns
    -------
    ServeResult
        output_tokens_per_s, total_tokens_per_s and their _per_gpu [tokens/s], ttft_s, tpot_s,
        e2e_latency_s [s], tokens_per_s_per_user [tokens/s], memory_per_gpu_bytes [B], fits,
        max_concurrency [requests], breakdown (polars frame: component, seconds [s per engine
        cycle], fraction), ``costs(price)`` [USD per million tokens], ``to_dict()`` (its
        scalars); every attribute with its unit in :class:`ServeResult`.

    Raises
    ------
    ValidationError : not a serving scenario, inconsistent sizes, bad overrides
    UnknownNameError : unknown model, accelerator, engine or stack parameter

    Notes
    -----
    Approximate by design: a steady-state cycle model (see the module docstring and
    docs/serving.md), calibrated per serving stack on the training split of the published
    benchmarks (:func:`validation` reports the errors per case).

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = {"model": {"preset": "gpt-oss-120b"},
    ...       "hardware": {"accelerator": "H100", "nodes": 1, "gpus_per_node": 1},
    ...       "serving": {"engine": "vllm", "concurrency": 16}}
    >>> r = il.serve(sc)
    >>> r.fits, r.weights_per_gpu_bytes < 80e9      # MXFP4 experts: 65 GB of weights
    (True, True)
    """
    sc = _as_serving(scenario)
    reference = V.boolean("reference", reference)
    params = _stack_params(sc, stack_params, params)
    sv = sc.serving
    _check_paths(sc)
    media = _media(sc)
    if reference:
        from .reference import _reference_one

        o = _reference_one(sc, params, _solve_rate(sc, params, reference=True, media=media), media)
    else:
        inp = serving_inputs(sc.model_spec, sc.hardware, params, [sv.tp], [_etp(sv)], [sv.ep], stack=sc.stack)
        conc = _solve_rate(sc, params, inp=inp, media=media)
        o = _run(_cfg_row(sv, conc, media)[None, :], inp)[0]
    return _result(sc, sc.stack, o, media[1])


def _check_paths(sc: Scenario) -> None:
    """Refuse a deployment whose collectives have no path on the fabric: with ``dp_attention``
    the MoE layers' dispatch and combine are an all-to-all over the tp·dp ranks (as the kernel
    and the reference price them), which on a rails-only fabric with PXN off cannot cross rails
    (:func:`infra_lab.collectives.collective` refuses it). The kernel would return NaN for every
    time; this names the cause, as :func:`infra_lab.estimate` does for such a training plan."""
    from .. import collectives

    sv, hw = sc.serving, sc.hardware
    if not sv.dp_attention:
        return
    n = sv.tp * sv.dp
    try:
        collectives.collective("all_to_all", float(2**20), hw, n)
    except ValidationError as err:
        k = min(n, hw.domain_gpus)
        if hw.fabric == "rails-only" and not hw.pxn:
            cause = ("cross-rail traffic has no path on a rails-only fabric with hardware.pxn = false; set "
                     f"hardware.pxn = true (NCCL_PXN_DISABLE=0), keep tp·dp within one scale-up domain ({k} "
                     "GPUs), or use a rail-optimized / fat-tree fabric")
        else:
            cause = str(err)
        raise ValidationError(
            f"serving plan not runnable: with serving.dp_attention = true the MoE layers' all-to-all runs over "
            f"tp·dp = {sv.tp}·{sv.dp} = {n} GPUs ({n // k} scale-up domains of {k}), and {cause}") from None


def _solve_rate(sc: Scenario, params, *, inp: _Inputs | None = None, reference: bool = False,
                media: tuple[float, float] = (0.0, 0.0)) -> float:
    """Requests in flight for an open-loop arrival rate: C = rate · e2e(C) (Little), C ≤ cap."""
    from .._kernels import serving as K
    from .reference import _reference_one

    sv = sc.serving
    if sv.request_rate_rps is None:
        return float(sv.concurrency)
    lam, cap = sv.request_rate_rps, float(sv.concurrency)

    def e2e(c: float) -> float:
        if reference:
            return float(_reference_one(sc, params, c, media)[K.O_E2E])
        return float(_run(_cfg_row(sv, c, media)[None, :], inp)[0][K.O_E2E])

    if lam * e2e(cap) >= cap:
        return cap
    lo, hi = 1e-6, cap
    while hi - lo > 1e-9 * hi:
        mid = 0.5 * (lo + hi)
        if lam * e2e(mid) > mid:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------------------------------
# Input checks shared by the submodules
# ---------------------------------------------------------------------------------------
def _check_opt_positive(name: str, v, integer: bool = False, *, optional: bool = True, unit: str = ""):
    """A finite number (``integer``: a whole one) > 0, or None when ``optional``. The message says
    "None or" only where None is taken (an item of concurrencies, token_costs' price and
    cost_at_interactivity's interactivity take no None: their errors said "expected None or ...");
    ``unit`` (e.g. "USD/GPU-h") is named in it."""
    if v is None and optional:
        return None
    v = V.scalar(v)
    # numpy numbers are numbers (np.int64 is no int: concurrencies=np.arange(...) was refused as
    # "concurrencies[i] = 8: expected ... an integer > 0"); bools are not (_validate.is_real)
    if v is None or not V.is_real(v) or not math.isfinite(v) or v <= 0 \
            or (integer and (float(v) != int(v) or abs(v) > 2**53)):
        kind = "integer" if integer else "number"
        raise ValidationError(f"{name} = {v!r}: expected {'None or ' if optional else ''}a finite {kind} > 0"
                              + (f" [{unit}]" if unit else ""))
    return int(v) if integer else float(v)
