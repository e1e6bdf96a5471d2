"""Serving: throughput, latency, memory and cost of LLM inference under continuous batching.

``il.serve(scenario)`` answers one serving Scenario (a ``[serving]`` table in place of
``[training]``/``[parallelism]``); ``il.serve_search(scenario, ...)`` evaluates every
consistent tp/ep/dp/pp split, precision and concurrency on the scenario's GPUs and returns
the throughput–interactivity Pareto front. The model (formulas in ``docs/serving.md``):

* **An engine cycle** at steady state carries the decode tokens of every running request
  (``1 + draft`` tokens each with MTP) and, on average, ``B·I·E/O`` prompt tokens (the
  prompts of the requests that replace finished ones). Engines that mix prefill chunks into
  decode steps (vLLM V1, TensorRT-LLM, ATOM) run a fraction of their steps with a chunk of
  up to ``chunk_tokens − decode tokens`` prompt tokens; SGLang (by default) runs prefill
  forwards of their own that pause decoding.
* **One forward** on a GPU of the critical path: every GEMM of the model's op list
  (:func:`infra_lab.compute.gemm_records`) timed as a roofline with the compute model's GEMM efficiency
  (:func:`infra_lab._kernels.gemm.gemm_kernel`, the kernel behind
  :func:`infra_lab.compute.gemm_efficiencies`) and the weight bytes of the storage format
  (weight-only quantization where the GPU lacks the format's tensor cores); routed experts
  as a grouped GEMM over the *expected number of distinct experts* the batch touches on the
  busiest expert-parallel rank, ``E/ep·(1 − (1 − k/E)^T)``; decode attention reading each
  sequence's KV cache (sliding windows applied), prefill attention as causal FLOPs; the
  per-layer TP all-reduce or, with DP attention, the EP all-to-all (dispatch and combine)
  through :func:`infra_lab._kernels.fabric.best_collective` (the kernel of
  ``il.collective``); a per-layer and a per-step overhead (the engine's stack factors).
* **Latency**: TPOT = cycle / tokens per step per request; TTFT = half a cycle of waiting
  plus the steps that carry the prompt's chunks (plus the queueing when more requests are
  in flight than the KV cache holds, by Little's law, and the first wave of a finite
  benchmark); e2e = TTFT + (O − 1)·TPOT.
* **Memory** per GPU: weights (storage format, split over tp·pp; experts over ep·expert-tp),
  KV cache of the running requests at their mean context ``I + O/2`` (paged allocation),
  and ``1 − memory_utilization`` of HBM for activations and runtime. ``max_concurrency`` is
  the number of requests whose mean KV fits (capped by the engine's max_num_seqs).

All factors are named parameters of the serving stacks in ``data/stacks.csv``
(``<engine>-<platform>``); hardware numbers come from the catalog and the compute model.
This is a steady-state model: it does not simulate request arrivals one by one, prefix
caching or disaggregated prefill/decode.

Examples
--------
>>> import infra_lab as il
>>> sc = {"model": {"preset": "llama3.3-70b"},
...       "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
...       "serving": {"engine": "vllm", "weight_precision": "fp8", "tp": 8, "concurrency": 64,
...                   "input_tokens": 1024, "output_tokens": 1024}}
>>> r = il.serve(sc)
>>> r.fits, r.output_tokens_per_s > 0, r.ttft_s < r.e2e_latency_s
(True, True, True)
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from . import catalog
from .catalog import Col
from .errors import EmptyResultWarning, ValidationError, empty_reasons, unknown
from .scenario import SERVING_BOUNDS, Scenario, ServingConfig, as_scenario

__all__ = [
    "ServeResult", "serve", "serve_search", "OBJECTIVES", "BREAKDOWN", "parameter",
    "serving_inputs", "token_costs", "gpu_hour_price", "cost_at_interactivity", "pareto_front",
    "benchmarks", "validation", "published_comparison", "validation_summary", "calibrate", "split_of", "row_stack",
    "engine_generations", "VALIDATION_BOUNDS", "CALIBRATED", "maia_mix", "maia_mix_table", "agent_request",
    "class_comparison",
    "fp4_format", "DEFAULT_CONCURRENCIES", "checkpoints",
]

OBJECTIVES = {  # name -> True when larger is better
    "output_tokens_per_s": True, "output_tokens_per_s_per_gpu": True, "total_tokens_per_s": True,
    "tokens_per_s_per_user": True, "ttft_s": False, "tpot_s": False, "e2e_latency_s": False,
    "usd_per_million_output_tokens": False, "usd_per_million_tokens": False,
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
    "basis": Col("str", required=True, choices=("measured", "derived", "fitted", "assumption")),
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


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServeResult:
    """What one serving deployment delivers (all per deployment unless named per GPU).

    Attributes
    ----------
    output_tokens_per_s, total_tokens_per_s : generated / prompt + generated tokens [tokens/s]
    output_tokens_per_s_per_gpu, total_tokens_per_s_per_gpu : the same per GPU [tokens/s]
    ttft_s : mean time to first token [s]; tpot_s : mean time per output token [s]
    tokens_per_s_per_user : 1 / tpot_s, the interactivity a user sees [tokens/s]
    e2e_latency_s : mean request latency = ttft + (output_tokens − 1)·tpot [s]
    memory_per_gpu_bytes : weights + KV cache of the running requests + the runtime reserve [B]
    weights_per_gpu_bytes, kv_cache_per_gpu_bytes : the parts [B]
    fits : the weights and at least one request's KV cache fit (the deployment runs)
    max_concurrency : requests whose KV cache fits at once across the deployment [-]
    kv_limited : more requests in flight than fit; the rest queue (their wait is in ttft_s)
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
    tpot_s: float
    tokens_per_s_per_user: float
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
    breakdown: pl.DataFrame = field(repr=False, compare=False)

    def costs(self, price_usd_per_gpu_hour: float) -> dict[str, float]:
        """$ per million tokens at ``price_usd_per_gpu_hour``; see :func:`token_costs`."""
        return token_costs(self, price_usd_per_gpu_hour)


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
    from . import compute

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
    from .models import _FFN_ACTS

    if not spec.mtp_layers or not spec.experts or spec.layer_kinds()[-1] != "moe":
        return 0.0
    width = spec.expert_ffn_hidden or spec.ffn_hidden
    return float(spec.mtp_layers * spec.experts * _FFN_ACTS[spec.ffn_act] * spec.hidden * width)


def _imbalance_constants(spec, eps) -> np.ndarray:
    """c_ep of the busiest-rank load 1 + c_ep/√(tokens per rank), from the normal closed form
    of :func:`infra_lab.compute.moe_load_imbalance` (exactly of that shape) at 10,000 tokens."""
    from . import compute

    out = np.zeros(max(eps) + 1)
    if spec.experts:
        for e in eps:
            f = compute.moe_load_imbalance(10_000, spec.experts, spec.top_k, int(e), method="normal")
            out[e] = (f - 1.0) * 100.0
    return out


@dataclass(frozen=True)
class _Inputs:
    M: np.ndarray
    H: np.ndarray
    wins: np.ndarray
    tp_index: np.ndarray
    etp_index: np.ndarray
    imb_a: np.ndarray
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
        return (self.M, self.H, self.wins, self.tp_index, self.etp_index, self.imb_a, self.ne_n, self.ne_k,
                self.ne_cls, self.ne_cnt, self.ne_mtp, self.ex_n, self.ex_k, self.P, *self.g)


def fp4_format(accelerator: str) -> str:
    """The block FP4 format a platform's FP4 tensor cores use: "mxfp4" (AMD) or "nvfp4" (NVIDIA)."""
    return "mxfp4" if catalog.accelerator(accelerator).vendor == "AMD" else "nvfp4"


def _min_rows(accelerator: str) -> int:
    """Rows below which decode GEMMs are not padded: the compute model's smallest macro-tile
    height [rows]."""
    from . import compute

    return int(min(compute.gemm_model(accelerator, "bf16").tile_m))


def _chunk_default(acc: catalog.Accelerator, p: dict[str, float]) -> float:
    big = acc.memory_capacity_bytes >= parameter("large_gpu_memory_bytes")
    return p["chunk_tokens_160gb"] if big else p["chunk_tokens"]


def serving_inputs(spec, hardware, params: dict[str, float], tps, etps, eps=(1,)) -> _Inputs:
    """Kernel inputs for a model on a hardware configuration with a serving stack's factors.

    Parameters
    ----------
    spec : ModelSpec; hardware : HardwareConfig; params : :func:`infra_lab.stacks.params`
    tps, etps, eps : TP, expert-TP and EP sizes the configurations will use [-]
    """
    from . import collectives, compute, memory
    from ._kernels import serving as K

    acc = hardware.accelerator_spec
    kinds = spec.layer_kinds()
    n_dense, n_moe = kinds.count("dense"), kinds.count("moe")
    M = np.zeros(K.N_M)
    M[K.M_HIDDEN] = spec.hidden
    M[K.M_HEADS] = spec.heads
    M[K.M_KV_HEADS] = spec.kv_heads
    M[K.M_MLA] = 1.0 if spec.attention == "mla" else 0.0
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
    M[K.M_VOCAB] = spec.vocab
    M[K.M_MTP_MOE] = 1.0 if M[K.M_P_MTP_EXP] > 0 else 0.0
    M[K.M_P_ATTN], M[K.M_P_MTP_ATTN] = _attention_params(spec)
    wins = np.array(spec.attention_windows(), dtype=np.float64)

    H = np.zeros(K.N_H)
    H[K.H_PEAK_BF16] = acc.peak("bf16")
    H[K.H_PEAK_FP8] = acc.peak_flops.get("fp8", 0.0)
    H[K.H_PEAK_FP4] = acc.peak_flops.get("fp4", 0.0)
    H[K.H_HBM_BYTES] = acc.memory_capacity_bytes  # what the driver exposes (catalog)
    H[K.H_BW_EFF] = acc.hbm_bw_Bps * compute.hbm_efficiency(acc.name)
    H[K.H_DOMAIN] = hardware.scaleup_domain
    H[K.H_FP4_BYTES] = memory.format_bytes(fp4_format(acc.name))
    H[K.H_GEMM_SCALE] = params["gemm_time_scale"]
    H[K.H_MEM_SCALE] = params["memory_time_scale"]
    H[K.H_ATT_EFF_PRE] = params["attention_prefill_efficiency"]
    H[K.H_ATT_EFF_DEC] = params["attention_decode_efficiency"]
    H[K.H_COMM_SCALE] = params["comm_time_scale"]
    H[K.H_STEP_OVH] = params["step_overhead_s"]
    H[K.H_LAYER_OVH] = params["layer_overhead_s"]
    H[K.H_MIXED] = params["mixed_batching"]
    H[K.H_CHUNK] = _chunk_default(acc, params)
    H[K.H_MEM_UTIL] = params["memory_utilization"]
    H[K.H_DISPATCH_B] = params["dispatch_bytes"]
    H[K.H_MAX_SEQS] = params["max_num_seqs"]
    H[K.H_MIN_ROWS] = _min_rows(acc.name)
    H[K.H_REQ_OVH] = params["request_overhead_s"]
    H[K.H_SEQ_OVH] = params["seq_overhead_s"]
    H[K.H_BW_PEAK] = acc.hbm_bw_Bps
    H[K.H_KFIX] = params["kernel_fixed_scale"] * compute.kernel_fixed_s(acc.name)

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
    models_ = [compute.gemm_model(acc.name, p if p in acc.peak_flops else "bf16") for p in ("bf16", "fp8", "fp4")]
    return _Inputs(M, H, wins, tp_index, etp_index, _imbalance_constants(spec, eps), ne_n, ne_k, ne_cls, ne_cnt,
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
    from . import multimodal as mm

    pre = mm.encoder_prefill(sc.multimodal, sc.hardware.accelerator, images=sv.images_per_request,
                             image_size=sv.image_size, audio_s=sv.audio_s_per_request,
                             tp=int(tp or sv.tp), batch=sv.encoder_batch, hardware=sc.hardware)
    return float(pre.time_s), float(pre.lm_positions)


def _cfg_row(sv: ServingConfig, concurrency: float | None = None,
             media: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    from ._kernels import serving as K

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


def _as_serving(scenario) -> Scenario:
    scenario = as_scenario(scenario)
    if scenario.serving is None:
        raise ValidationError(f"scenario {scenario.name!r} has no [serving] table (it is a training scenario); "
                              "il.serve needs [model], [hardware] and [serving]")
    return scenario


def _stack_params(sc: Scenario, stack_params) -> dict[str, float]:
    from . import stacks

    if stack_params is not None and not isinstance(stack_params, dict):
        raise ValidationError(f"stack_params = {stack_params!r}: expected a dict of stack parameter -> number")
    return stacks.params(sc.stack, stack_params)


_POOL: list = []  # the thread pool of _run, made on first use


def _run(cfg: np.ndarray, inp: _Inputs) -> np.ndarray:
    """Kernel outputs for every configuration row: 2 blocks per thread (numba's thread count,
    NUMBA_NUM_THREADS), each with its own memo, on a pool of Python threads (the kernel
    releases the GIL)."""
    import concurrent.futures

    import numba

    from ._kernels import serving as K

    cfg = np.ascontiguousarray(cfg)
    n = cfg.shape[0]
    out = np.zeros((n, K.N_OUT))
    threads = max(1, numba.get_num_threads())
    blocks = max(1, min(n, 2 * threads))  # 2 per thread: balance vs duplicated memo fills
    keys, vals = K.memo(blocks)
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


def _result(sc: Scenario, stack: str, o: np.ndarray, positions: float = 0.0) -> ServeResult:
    from ._kernels import serving as K

    gpus = sc.serving.gpus
    b = o[K.N_RES:]
    cyc = float(o[K.O_CYCLE])
    bd = pl.DataFrame({"component": list(BREAKDOWN), "seconds": [float(x) for x in b],
                       "fraction": [float(x) / cyc if cyc > 0 else 0.0 for x in b]})
    vals = [float(x) for x in o[: K.N_RES]]
    for name, v in zip(K.OUT_NAMES, vals, strict=True):
        if not math.isfinite(v) or v < 0:
            raise ValidationError(f"serve: {name} = {v!r} for scenario {sc.name!r}; the inputs are outside what "
                                  "the model covers (check output_tokens > 1 and the sizes)")
    return ServeResult(
        scenario=sc, stack=stack, gpus=gpus,
        output_tokens_per_s=vals[K.O_OUT_TPS], total_tokens_per_s=vals[K.O_TOTAL_TPS],
        output_tokens_per_s_per_gpu=vals[K.O_OUT_TPS_GPU], total_tokens_per_s_per_gpu=vals[K.O_TOTAL_TPS] / gpus,
        ttft_s=vals[K.O_TTFT], tpot_s=vals[K.O_TPOT], tokens_per_s_per_user=vals[K.O_TPS_USER],
        e2e_latency_s=vals[K.O_E2E], memory_per_gpu_bytes=vals[K.O_MEM_GPU],
        weights_per_gpu_bytes=vals[K.O_WEIGHTS_GPU], kv_cache_per_gpu_bytes=vals[K.O_KV_GPU],
        fits=bool(vals[K.O_FITS] > 0.5), max_concurrency=int(min(vals[K.O_MAX_CONC], 2**62)),
        kv_limited=bool(vals[K.O_KV_LIMITED] > 0.5), running_requests=vals[K.O_RUNNING],
        prefill_time_fraction=vals[K.O_PREFILL_FRAC], cycle_s=cyc,
        prompt_tokens=float(sc.serving.input_tokens) + positions, breakdown=bd,
    )


def serve(scenario, *, stack_params: dict[str, float] | None = None, reference: bool = False) -> ServeResult:
    """Throughput, latency and memory of one serving deployment.

    Parameters
    ----------
    scenario : Scenario with a [serving] table, the same as a plain dict, or a .toml path
    stack_params : overrides of the serving stack's factors ({parameter: value}, names from
        ``il.stacks.params(sc.stack)``)
    reference : evaluate with the plain-Python reference instead of the numba kernel

    Returns
    -------
    ServeResult

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
    if not isinstance(reference, bool):
        raise ValidationError(f"reference = {reference!r}: expected true or false")
    params = _stack_params(sc, stack_params)
    sv = sc.serving
    media = _media(sc)
    if reference:
        o = _reference_one(sc, params, _solve_rate(sc, params, reference=True, media=media), media)
    else:
        inp = serving_inputs(sc.model_spec, sc.hardware, params, [sv.tp], [_etp(sv)], [sv.ep])
        conc = _solve_rate(sc, params, inp=inp, media=media)
        o = _run(_cfg_row(sv, conc, media)[None, :], inp)[0]
    return _result(sc, sc.stack, o, media[1])


def _solve_rate(sc: Scenario, params, *, inp: _Inputs | None = None, reference: bool = False,
                media: tuple[float, float] = (0.0, 0.0)) -> float:
    """Requests in flight for an open-loop arrival rate: C = rate · e2e(C) (Little), C ≤ cap."""
    from ._kernels import serving as K

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
# Plain-Python reference (written from docs/serving.md, sharing no code with the kernel)
# ---------------------------------------------------------------------------------------
def _reference_one(sc: Scenario, p: dict[str, float], concurrency: float,
                   media: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The serving model of one configuration, layer by layer, in plain Python.

    Returns the kernel's output vector (results then breakdown). Used by the tests to
    check :func:`infra_lab._kernels.serving.serve_kernel` and by ``serve(reference=True)``.
    """
    from . import collectives, compute, memory
    from ._kernels import serving as K

    spec, sv, hw = sc.model_spec, sc.serving, sc.hardware
    acc = hw.accelerator_spec
    tp, pp, dp, ep = sv.tp, sv.pp, sv.dp, sv.ep
    dpa = sv.dp_attention
    etp = (tp * dp if dpa else tp) // ep
    gpus = tp * pp * dp

    def prec_bytes(prec: str) -> float:
        """Weight bytes per parameter of a weight precision on this platform."""
        return memory.format_bytes({"bf16": "bf16", "fp8": "fp8", "fp4": fp4_format(acc.name)}[prec])

    def expert_bytes(b: float) -> float:
        """Routed-expert bytes: at most the experts' native checkpoint format."""
        return min(b, memory.format_bytes(spec.expert_weight_format)) if spec.expert_weight_format else b

    wbytes = prec_bytes(sv.weight_precision)
    ebytes = expert_bytes(wbytes)
    cprec = sv.weight_precision if sv.weight_precision in acc.peak_flops else "bf16"
    # the checkpoint's attention projections may have a precision of their own
    aprec = sv.attention_precision or sv.weight_precision
    abytes = prec_bytes(aprec)
    acprec = aprec if aprec in acc.peak_flops else "bf16"
    # the MTP draft modules: the checkpoint's own precision for all their GEMMs, if it has one
    if sv.mtp_precision is None:
        mbytes, mcprec, mabytes, macprec, mebytes = wbytes, cprec, abytes, acprec, None
    else:
        mbytes = prec_bytes(sv.mtp_precision)
        mcprec = macprec = sv.mtp_precision if sv.mtp_precision in acc.peak_flops else "bf16"
        mabytes = mbytes
        mebytes = expert_bytes(mbytes)
    kvb = {"bf16": 2.0, "fp8": 1.0}[sv.kv_precision]
    bw = acc.hbm_bw_Bps * compute.hbm_efficiency(acc.name)
    # every GEMM / attention kernel pays the compute model's fixed GPU time per kernel, x the stack's scale
    kfix = p["kernel_fixed_scale"] * compute.kernel_fixed_s(acc.name)
    peak16 = acc.peak("bf16")
    kinds = spec.layer_kinds()
    windows = spec.attention_windows()

    effs: dict[tuple, float] = {}  # memo: the same shapes recur layer after layer
    min_rows = _min_rows(acc.name)  # decode kernels do not pad fewer rows to a macro-tile

    def gemm_s(m: float, n: float, k: float, batch: float, wb: float, prec: str = cprec) -> float:
        if min(m, n, k, batch) <= 0:
            return 0.0
        ints = (max(min_rows, math.ceil(m - 1e-9)), *(max(1, math.ceil(x - 1e-9)) for x in (n, k, batch)))
        if (prec, *ints) not in effs:
            effs[(prec, *ints)] = float(compute.gemm_efficiencies([ints[0]], [ints[1]], [ints[2]], acc.name, prec,
                                                                  [ints[3]])[0])
        eff = effs[(prec, *ints)]
        flop = 2.0 * m * n * k * batch
        byts = batch * (n * k * wb + m * (n + k) * 2.0)
        # the stack factors scale the compute model's times, never below the peaks
        compute_s = max(flop / (acc.peak(prec) * eff) * p["gemm_time_scale"], flop / acc.peak(prec))
        memory_s = max(byts / bw * p["memory_time_scale"], byts / acc.hbm_bw_Bps)
        return max(compute_s, memory_s)

    by_kind: dict[str, list[tuple[float, float, float, str]]] = {}
    for kind, _name, n, k, cnt, comp in _records(spec, tp):
        by_kind.setdefault(kind, []).append((n, k, cnt, comp))
    expert_shapes = [(n, k) for kind, _nm, n, k, _c, comp in _records(spec, 1, etp)
                     if kind == "moe" and comp == "expert_gemm"]
    if spec.experts and ep > 1:
        # the normal closed form of compute.moe_load_imbalance is 1 + c/√(tokens per rank)
        c_ep = (compute.moe_load_imbalance(10_000, spec.experts, spec.top_k, ep, method="normal") - 1.0) * 100.0
    else:
        c_ep = 0.0

    def routed(tokens: float, eb: float | None = None, prec: str = cprec) -> float:
        """Busiest expert-parallel rank's routed-expert GEMMs of one MoE layer [s] (eb, prec:
        the experts' bytes and compute precision, default the main layers')."""
        E, k_top = spec.experts, spec.top_k
        untouched = (1.0 - k_top / E) ** tokens
        distinct = E / ep * (1.0 - untouched)
        imb = 1.0
        if ep > 1 and tokens > 0:
            imb = min(float(ep), 1.0 + c_ep / math.sqrt(tokens / ep))
        busiest = tokens * k_top / ep * imb
        b = max(1.0, math.floor(distinct + 0.5))
        rows = max(1.0, math.ceil(busiest / b - 1e-9))
        return sum(gemm_s(rows, n, k, b, ebytes if eb is None else eb, prec) for n, k in expert_shapes)

    colls: dict[tuple, float] = {}

    def coll(op: str, size: float, n: int, per_node: int | None = None) -> float:
        key = (op, size, n, per_node)
        if key not in colls:
            colls[key] = collectives.collective(op, size, hw, n, per_node=per_node).time_s
        return colls[key] * p["comm_time_scale"]

    if spec.attention == "mla":
        dq_dec, dv_dec = spec.kv_lora_rank + spec.qk_rope_head_dim, spec.kv_lora_rank
        dq_pre, dv_pre = spec.qk_nope_head_dim + spec.qk_rope_head_dim, spec.v_head_dim
        kv_per_layer, kv_split = spec.kv_lora_rank + spec.qk_rope_head_dim, 1
    else:
        dq_dec = dv_dec = dq_pre = dv_pre = spec.head_dim
        kv_per_layer, kv_split = 2 * spec.kv_heads * spec.head_dim, min(tp, spec.kv_heads)
    n_in, n_out = float(sv.input_tokens) + media[1], float(sv.output_tokens)
    ctx = n_in + n_out / 2.0

    def forward(dec: float, seqs: float, pre: float, moe_tokens: float | None = None) -> dict[str, float]:
        """One forward of one micro-batch through every layer (per GPU) [s]; ``moe_tokens``:
        the tokens the whole DP-attention group sends into each MoE layer (default: every
        rank carrying this rank's tokens)."""
        t = dict.fromkeys(BREAKDOWN, 0.0)
        tokens = dec + pre
        if tokens <= 0:
            return t
        if moe_tokens is None:
            moe_tokens = tokens * (dp if dpa else 1)
        whole = max(1, math.ceil(tokens - 1e-9))  # messages carry whole tokens
        ar_size = whole * spec.hidden * 2.0
        for li, kind in enumerate(kinds):
            for n, k, cnt, comp in by_kind[kind]:
                c = _gemm_class(comp)
                if c == 0:
                    t["attention_gemm"] += cnt * (gemm_s(tokens, n, k, 1.0, abytes, acprec) + kfix)
                elif c == 1:
                    t["mlp_gemm"] += cnt * (gemm_s(tokens, n, k, 1.0, wbytes) + kfix)
            if kind == "moe":
                t["expert_gemm"] += routed(moe_tokens) + len(expert_shapes) * kfix
            w = windows[li]
            span_dec = ctx if w == 0 else min(ctx, float(w))
            if w == 0 or n_in <= w:
                span_pre = n_in / 2.0
            else:
                span_pre = (w * w / 2.0 + (n_in - w) * w) / n_in
            heads_here = spec.heads / tp
            if dec > 0:
                flop = 2.0 * dec * heads_here * (dq_dec + dv_dec) * span_dec
                byts = seqs * span_dec * kv_per_layer * kvb / kv_split
                t["attention_decode"] += max(flop / (peak16 * p["attention_decode_efficiency"]),
                                             byts / bw * p["memory_time_scale"], byts / acc.hbm_bw_Bps) + kfix
            if pre > 0:
                t["attention_prefill"] += 2.0 * pre * heads_here * (dq_pre + dv_pre) * span_pre / (
                    peak16 * p["attention_prefill_efficiency"]) + kfix
            if tp > 1:
                n_ar = 1 if (dpa and kind == "moe") else 2
                t["tp_comm"] += n_ar * coll("all_reduce", ar_size, tp)
            if dpa and kind == "moe":
                t["ep_comm"] += 2 * coll("all_to_all", whole * spec.top_k * spec.hidden * p["dispatch_bytes"],
                                         tp * dp)
            t["layer_overhead"] += p["layer_overhead_s"]
        if dec > 0:
            for n, k, cnt, _comp in by_kind["head"]:
                # quantized checkpoints keep the LM head in BF16
                t["lm_head"] += pp * cnt * (gemm_s(dec, n, k, 1.0, 2.0, "bf16") + kfix)
        return t

    def cycle(dec: float, seqs: float, pre: float, draft: int, moe_tokens: float | None = None) -> dict[str, float]:
        t = forward(dec / pp, seqs / pp, pre / pp, None if moe_tokens is None else moe_tokens / pp)
        if pp > 1:
            same_node = tp * pp <= hw.scaleup_domain
            whole = max(1, math.ceil((dec + pre) / pp - 1e-9))
            t["pp_p2p"] += pp * coll("send_recv", whole * spec.hidden * 2.0, 2, per_node=2 if same_node else 1)
        # the engine's host work per step: fixed, plus per decoding request of the instance
        t["step_overhead"] += p["step_overhead_s"] + p["seq_overhead_s"] * seqs
        if draft and seqs > 0:
            # the model's MTP modules (compute.gemm_records kind "mtp") on one token per sequence
            nb = seqs / pp
            one = 0.0
            for n, k, cnt, comp in by_kind.get("mtp", []):
                cls = _gemm_class(comp)
                if cls == 0:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, mabytes, macprec) + kfix)
                elif cls == 3:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, 2.0, "bf16") + kfix)
                elif cls == 1:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, mbytes, mcprec) + kfix)
            mtp_moe = any(comp == "expert_gemm" for *_x, comp in by_kind.get("mtp", []))
            if mtp_moe:
                one += routed(nb * (dp if dpa else 1), mebytes, mcprec) + len(expert_shapes) * kfix
            # a tensor-parallel decoder layer: two all-reduces, or under DP attention one and
            # the MoE dispatch + combine, on the draft tokens
            if tp > 1:
                one += (1 if (dpa and mtp_moe) else 2) * coll("all_reduce", max(1, math.ceil(nb - 1e-9))
                                                              * spec.hidden * 2.0, tp)
            if dpa and mtp_moe:
                one += 2 * coll("all_to_all", max(1, math.ceil(nb - 1e-9)) * spec.top_k * spec.hidden
                                * p["dispatch_bytes"], tp * dp)
            t["mtp_draft"] += draft * pp * (one + p["layer_overhead_s"])
        return t

    def total(t: dict[str, float]) -> float:
        return sum(t.values())

    # memory per GPU
    bd = {r["component"]: r["params_total"] for r in spec.param_breakdown().iter_rows(named=True)}
    emb_head = bd["embeddings"] + bd["position_embeddings"] + bd["lm_head"]
    experts = memory.expert_matrix_params(spec)
    draft = sv.mtp_draft_tokens if sv.spec_decoding == "mtp" else 0
    mtp_experts = _mtp_expert_params(spec) if draft else 0.0
    mtp_rest = spec.params_mtp - mtp_experts if draft else 0.0  # the MTP modules but their experts
    rest = spec.params_total - experts - emb_head + mtp_rest
    att_main, att_mtp = _attention_params(spec)
    att = att_main + (att_mtp if draft else 0.0)
    if draft and sv.mtp_precision is not None:
        # the MTP modules (attention, projection, experts) at their own precision
        weights = (rest - mtp_rest - att_main) / (tp * pp) * wbytes + emb_head / (tp * min(pp, 2)) * 2.0 \
            + att_main / (tp * pp) * abytes + experts * ebytes / (pp * ep * etp) \
            + mtp_rest / (tp * pp) * mbytes + mtp_experts * mebytes / (pp * ep * etp)
    else:
        weights = (rest - att) / (tp * pp) * wbytes + emb_head / (tp * min(pp, 2)) * 2.0 + att / (tp * pp) * abytes \
            + (experts + mtp_experts) * ebytes / (pp * ep * etp)
    kv_one = memory.kv_cached_tokens(spec, ctx) * len(windows) * kv_per_layer * kvb / kv_split / pp
    room = p["memory_utilization"] * acc.memory_capacity_bytes - weights
    cap = math.floor(room / kv_one) if room > 0 else 0
    fits = cap >= 1
    cap = min(cap, p["max_num_seqs"])
    per_group = concurrency / dp
    running = min(per_group, cap) if fits else per_group
    a = (sv.mtp_acceptance if sv.mtp_acceptance is not None else parameter("mtp_acceptance")) if draft else 0.0
    verified = 1 + draft
    advance = sum(a**j for j in range(draft + 1))  # expected tokens per request per step
    dec = running * verified
    chunk = float(sv.chunk_tokens) if sv.chunk_tokens else _chunk_default(acc, p)
    enc_s = media[0]  # encoder seconds per request (il.multimodal.encoder_prefill, an input here)
    comp = dict.fromkeys(BREAKDOWN, 0.0)
    if sv.batching == "static":
        piece = min(chunk, running * n_in)
        n_pieces = running * n_in / piece
        pre = cycle(0.0, 0.0, piece, 0)
        ttft = n_pieces * total(pre) + running * enc_s + p["request_overhead_s"]
        step = cycle(dec, running, 0.0, draft)
        tpot = total(step) / advance
        steps = (n_out - 1.0) / advance
        e2e = ttft + steps * total(step)
        out_tps = dp * running * n_out / e2e
        frac = ttft / e2e
        for key in BREAKDOWN:
            comp[key] = n_pieces * pre[key] + steps * step[key]
        comp["encoder"] += running * enc_s
        comp["step_overhead"] += p["request_overhead_s"]  # the batch's fixed request overhead
        cyc = e2e
    else:
        # Little's law inside the running set: of the `running` requests some are still in
        # their prefill; iterate decoding count and prompt tokens per cycle to a fixed point
        decoding, prompt_tokens = running, running * n_in * advance / n_out
        not_mine = max(0.0, (running - 1.0) / running)  # share of the prompts that are other requests'
        for n_pass in range(K.FIXED_POINT_PASSES):
            dec = decoding * verified
            starts = prompt_tokens / n_in
            if p["mixed_batching"] > 0.5:
                space = max(chunk - dec, 1.0)
                if prompt_tokens >= space:
                    carried, share = prompt_tokens, 1.0
                else:
                    carried = min(space, max(prompt_tokens, n_in))
                    share = prompt_tokens / carried
                # between two of a request's tokens come the other requests' chunks, not its own
                seen = share * not_mine
                moe_chunk = None
                if dpa and dp > 1 and share > 0.0:
                    # DP attention: a step lasts as long as its busiest rank, so it carries a
                    # chunk when any of the dp ranks (admitting independently) has one; the MoE
                    # layers see the chunks of the ranks that have one (dp·share/any of them)
                    any_chunk = 1.0 - (1.0 - share) ** dp
                    moe_chunk = dp * dec + carried * dp * share / any_chunk
                    share = any_chunk
                    seen = 1.0 - (1.0 - seen) ** dp
                with_chunk = cycle(dec, decoding, carried, draft, moe_chunk)
                without = cycle(dec, decoding, 0.0, draft)
                comp = {key: seen * with_chunk[key] + (1.0 - seen) * without[key] for key in BREAKDOWN}
                comp["encoder"] += starts * not_mine * enc_s
                cyc = total(comp)
                ttft_run = 0.5 * cyc + math.ceil(n_in / carried - 1e-9) * total(with_chunk) + enc_s \
                    + p["request_overhead_s"]
                gpu_time = share * total(with_chunk) + (1.0 - share) * total(without) + starts * enc_s
                frac = (share * (total(with_chunk) - total(without)) + starts * enc_s) / gpu_time
            else:
                batch_tokens = min(chunk, max(n_in, prompt_tokens))
                pre = cycle(0.0, 0.0, batch_tokens, 0)
                dstep = cycle(dec, decoding, 0.0, draft)
                ratio = prompt_tokens / batch_tokens
                comp = {key: dstep[key] + ratio * not_mine * pre[key] for key in BREAKDOWN}
                comp["encoder"] += starts * not_mine * enc_s
                cyc = total(comp)
                ttft_run = 0.5 * total(dstep) + math.ceil(n_in / batch_tokens - 1e-9) * total(pre) + enc_s \
                    + p["request_overhead_s"]
                frac = (ratio * total(pre) + starts * enc_s) / (total(dstep) + ratio * total(pre) + starts * enc_s)
            tpot = cyc / advance
            serve_s = ttft_run + (n_out - 1.0) * tpot
            if n_pass == K.FIXED_POINT_PASSES - 1:
                break
            per_s = running / serve_s
            decoding = per_s * (n_out - 1.0) * tpot
            prompt_tokens = per_s * n_in * cyc
        out_tps = dp * running * n_out / serve_s
        queue = 0.0
        if running < per_group:
            queue = serve_s * (per_group / running - 1.0)
        first_wave = 0.0
        if sv.num_prompts or sv.lockstep:
            # lockstep: every wave of C requests queues its prefills; else the first wave only
            weight = 1.0 if sv.lockstep else concurrency / sv.num_prompts
            piece = min(chunk, running * n_in)
            first_wave = weight * 0.5 * running * n_in / piece * total(cycle(0.0, 0.0, piece, 0))
        ttft = ttft_run + queue + first_wave
        e2e = ttft + (n_out - 1.0) * tpot
    res = {
        "output_tokens_per_s": out_tps, "total_tokens_per_s": out_tps * (n_in + n_out) / n_out,
        "output_tokens_per_s_per_gpu": out_tps / gpus, "ttft_s": ttft, "tpot_s": tpot,
        "tokens_per_s_per_user": 1.0 / tpot, "e2e_latency_s": e2e,
        "memory_per_gpu_bytes": weights + running * kv_one
        + (1.0 - p["memory_utilization"]) * acc.memory_capacity_bytes,
        "fits": 1.0 if fits else 0.0, "max_concurrency": cap * dp, "prefill_time_fraction": frac,
        "cycle_s": cyc, "running_requests": running * dp,
        "kv_limited": 1.0 if (fits and running < per_group) else 0.0,
        "weights_per_gpu_bytes": weights, "kv_cache_per_gpu_bytes": running * kv_one,
    }
    return np.array([res[n] for n in K.OUT_NAMES] + [comp[n] for n in BREAKDOWN], dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Search: every consistent split, precision and concurrency; the Pareto front
# ---------------------------------------------------------------------------------------
DEFAULT_CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
"""Concurrency grid of :func:`serve_search` when none is given [requests]."""


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _plans(spec, hw) -> list[tuple[int, int, int, int, int]]:
    """(tp, pp, dp, ep, dp_attention) splits of the hardware's GPUs the Scenario accepts."""
    G = hw.world_size
    out = []
    for tp in _divisors(G):
        if tp > hw.scaleup_domain or spec.heads % tp:
            continue
        for pp in _divisors(G // tp):
            if pp > spec.layers:
                continue
            dp = G // (tp * pp)
            for dpa in ((0, 1) if (spec.experts and dp > 1 and pp == 1) else (0,)):
                group = tp * dp if dpa else tp
                eps = [e for e in _divisors(group) if spec.experts % e == 0] if spec.experts else [1]
                out.extend((tp, pp, dp, ep, dpa) for ep in eps)
    return out


def _check_opt_positive(name: str, v, integer: bool = False):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 \
            or (integer and float(v) != int(v)):
        kind = "integer" if integer else "number"
        raise ValidationError(f"{name} = {v!r}: expected None or a finite {kind} > 0")
    return int(v) if integer else float(v)


def _choices(name: str, given, allowed: tuple[str, ...], default: list[str]) -> list[str]:
    if given is None:
        return default
    if isinstance(given, str) or not isinstance(given, (list, tuple)) or not given:
        raise ValidationError(f"{name} = {given!r}: expected a non-empty list of {', '.join(allowed)}")
    out = []
    for g in given:
        if not isinstance(g, str) or g.lower() not in allowed:
            raise unknown(name.rstrip("s"), g, allowed)
        out.append(g.lower())
    return sorted(set(out), key=out.index)


def pareto_front(df: pl.DataFrame, x: str = "tokens_per_s_per_user",
                 y: str = "output_tokens_per_s_per_gpu") -> pl.Series:
    """Boolean mask of the rows no other row beats on both ``x`` and ``y`` (larger is better).

    Examples
    --------
    >>> import polars as pl
    >>> d = pl.DataFrame({"tokens_per_s_per_user": [10.0, 20.0, 15.0], "output_tokens_per_s_per_gpu": [5.0, 3.0, 2.0]})
    >>> pareto_front(d).to_list()
    [True, True, False]
    """
    if not isinstance(df, pl.DataFrame):
        raise ValidationError(f"df = {df!r:.80}: expected a polars DataFrame (serve_search's)")
    for col in (x, y):
        if not isinstance(col, str) or col not in df.columns:
            raise unknown("column", col, df.columns, where="pareto_front")
    if df.height == 0:
        return pl.Series("pareto", [], dtype=pl.Boolean)
    return pl.Series("pareto", _pareto_mask(df[x].to_numpy(), df[y].to_numpy()))


def _pareto_mask(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Rows no other row beats on both xs and ys (larger is better): in x-descending
    (then y-descending) order, a row is kept when its y beats every y before it."""
    order = np.lexsort((-ys, -xs))  # x descending, then y descending
    ys_sorted = ys[order]
    before = np.concatenate(([-np.inf], np.maximum.accumulate(ys_sorted)[:-1]))
    keep = np.zeros(len(xs), dtype=bool)
    keep[order] = ys_sorted > before
    return keep


MAX_SEARCH_CONFIGURATIONS = 2_000_000
"""Most configurations one :func:`serve_search` evaluates (splits × precisions ×
concurrencies); the default grid is a few thousand. Beyond it the arrays alone would take
gigabytes, so a long ``concurrencies`` list is refused instead."""


def serve_search(scenario, objective: str = "output_tokens_per_s", top: int | None = 10,
                 max_tpot_s: float | None = None, max_ttft_s: float | None = None, *,
                 min_tokens_per_s_per_user: float | None = None, concurrencies=None,
                 weight_precisions=None, kv_precisions=None, pareto: bool = True,
                 price_usd_per_gpu_hour: float | None = None,
                 stack_params: dict[str, float] | None = None, reference: bool = False) -> pl.DataFrame:
    """Every consistent tp/ep/dp/pp split, precision and concurrency on the scenario's GPUs.

    Parameters
    ----------
    scenario : serving Scenario (dict, TOML path or object); its model, hardware, engine,
        prompt/output lengths and speculative decoding are kept, everything else is searched
    objective : one of :data:`OBJECTIVES` (cost objectives need ``price_usd_per_gpu_hour``)
    top : rows returned, best first (None: all)
    max_tpot_s, max_ttft_s : latency limits [s]; min_tokens_per_s_per_user : interactivity
        floor [tokens/s]; rows outside them are dropped
    concurrencies : requests in flight to try [-] (default :data:`DEFAULT_CONCURRENCIES`
        plus the scenario's own)
    weight_precisions, kv_precisions : subsets of ("bf16", "fp8", "fp4") and ("bf16", "fp8")
        (default: every format the accelerator has tensor cores for; both KV formats)
    pareto : keep only the throughput–interactivity Pareto front (output tokens/s per GPU
        against tokens/s per user) of the configurations that fit and meet the limits;
        False with top=None returns every configuration evaluated
    price_usd_per_gpu_hour : adds $ per million tokens columns (:func:`token_costs`)
    stack_params : overrides of the serving stack's factors
    reference : evaluate with the plain-Python reference (slow; for tests and benchmarks)

    Returns
    -------
    polars.DataFrame
        tp, pp, dp, ep, dp_attention, weight_precision, kv_precision, concurrency, the
        :class:`ServeResult` numbers (output_tokens_per_s, ..., fits, max_concurrency,
        kv_limited), feasible, pareto, and cost columns when a price is given; best first.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = {"model": {"preset": "llama3.3-70b"},
    ...       "hardware": {"accelerator": "H200", "nodes": 1, "gpus_per_node": 8},
    ...       "serving": {"engine": "vllm", "tp": 8, "input_tokens": 1024, "output_tokens": 1024}}
    >>> front = il.serve_search(sc, top=None, max_tpot_s=0.05)
    >>> bool(front["pareto"].all() and (front["tpot_s"] <= 0.05).all())
    True
    """
    from ._kernels import serving as K

    sc = _as_serving(scenario)
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise unknown("objective", objective, OBJECTIVES)
    top = _check_opt_positive("top", top, integer=True)
    max_tpot_s = _check_opt_positive("max_tpot_s", max_tpot_s)
    max_ttft_s = _check_opt_positive("max_ttft_s", max_ttft_s)
    min_tps_user = _check_opt_positive("min_tokens_per_s_per_user", min_tokens_per_s_per_user)
    price = _check_opt_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    if objective.startswith("usd") and price is None:
        raise ValidationError(f"objective = {objective!r}: needs price_usd_per_gpu_hour")
    for name, v in (("pareto", pareto), ("reference", reference)):
        if not isinstance(v, bool):
            raise ValidationError(f"{name} = {v!r}: expected true or false")
    params = _stack_params(sc, stack_params)
    spec, hw, sv = sc.model_spec, sc.hardware, sc.serving
    acc = hw.accelerator_spec
    if concurrencies is None:
        concs = sorted(set(DEFAULT_CONCURRENCIES) | {sv.concurrency})
    else:
        if isinstance(concurrencies, (str, bytes)) or not hasattr(concurrencies, "__iter__"):
            raise ValidationError(f"concurrencies = {concurrencies!r}: expected a list of positive integers")
        concs = sorted({_check_opt_positive("concurrencies[i]", c, integer=True) for c in concurrencies} - {None})
        if not concs:
            raise ValidationError("concurrencies: expected at least one positive integer")
        hi = dict((k, h) for k, h, _ in SERVING_BOUNDS)["concurrency"]
        if concs[-1] > hi:
            raise ValidationError(f"concurrencies: {concs[-1]!r} requests in flight; allowed 1..{hi:,} "
                                  "(as serving.concurrency)")
    hw_w = ["bf16"] + [p for p in ("fp8", "fp4") if p in acc.peak_flops]
    wps = _choices("weight_precisions", weight_precisions, _WPREC, hw_w)
    bad = [p for p in wps if p != "bf16" and p not in acc.peak_flops]
    if bad:
        raise ValidationError(f"weight_precisions: {acc.name} has no {', '.join(bad)} tensor cores; allowed "
                              f"{', '.join(hw_w)}")
    kvs = _choices("kv_precisions", kv_precisions, _KVPREC, list(_KVPREC))
    plans = np.array(_plans(spec, hw), dtype=np.float64)
    if plans.size == 0:
        raise ValidationError(f"serve_search: no tp/pp/dp split of {hw.world_size} GPUs suits {spec.name}")
    base = _cfg_row(sv)
    n_p, n_w, n_k, n_c = len(plans), len(wps), len(kvs), len(concs)
    if n_p * n_w * n_k * n_c > MAX_SEARCH_CONFIGURATIONS:
        raise ValidationError(
            f"concurrencies: {n_c:,} values x {n_p * n_w * n_k:,} splits and precisions = {n_p * n_w * n_k * n_c:,} "
            f"configurations; allowed at most {MAX_SEARCH_CONFIGURATIONS:,} (MAX_SEARCH_CONFIGURATIONS: about "
            "0.5 KB of inputs and outputs each); give fewer concurrencies")
    cfg = np.tile(base, (n_p * n_w * n_k * n_c, 1))
    idx = np.indices((n_p, n_w, n_k, n_c)).reshape(4, -1)
    cfg[:, K.K_TP] = plans[idx[0], 0]
    cfg[:, K.K_PP] = plans[idx[0], 1]
    cfg[:, K.K_DP] = plans[idx[0], 2]
    cfg[:, K.K_EP] = plans[idx[0], 3]
    cfg[:, K.K_DPA] = plans[idx[0], 4]
    cfg[:, K.K_WPREC] = np.array([_WPREC.index(w) for w in wps], dtype=np.float64)[idx[1]]
    cfg[:, K.K_KVPREC] = np.array([_KVPREC.index(k) for k in kvs], dtype=np.float64)[idx[2]]
    cfg[:, K.K_CONC] = np.array(concs, dtype=np.float64)[idx[3]]
    cfg[:, K.K_NPROMPTS] = 0.0
    tps = sorted({int(t) for t in plans[:, 0]})
    media = {t: _media(sc, t) for t in tps}
    if media[tps[0]] != (0.0, 0.0):  # encoder time depends on the replica's tp; positions do not
        enc_of_tp = np.zeros(max(tps) + 1)
        for t, (sec, _pos) in media.items():
            enc_of_tp[t] = sec
        cfg[:, K.K_ENC] = enc_of_tp[cfg[:, K.K_TP].astype(np.int64)]
        cfg[:, K.K_IN] = sv.input_tokens + media[tps[0]][1]
    etps = sorted({int(t * (d if a else 1)) // int(e) for t, _p, d, e, a in plans})
    eps = sorted({int(e) for e in plans[:, 3]})
    if reference:
        out = np.array([_reference_one(_scenario_of(sc, row), params, float(row[K.K_CONC]),
                                       media[int(row[K.K_TP])]) for row in cfg])
    else:
        inp = serving_inputs(spec, hw, params, tps, etps, eps)
        out = _run(cfg, inp)
    # feasibility and the Pareto front in numpy; one lazy query for the rest (fewer collects)
    fe = out[:, K.O_FITS] > 0.5
    if max_tpot_s is not None:
        fe &= out[:, K.O_TPOT] <= max_tpot_s
    if max_ttft_s is not None:
        fe &= out[:, K.O_TTFT] <= max_ttft_s
    if min_tps_user is not None:
        fe &= out[:, K.O_TPS_USER] >= min_tps_user
    mask = np.zeros(len(fe), dtype=bool)
    if fe.any():
        sub = np.flatnonzero(fe)
        mask[sub] = _pareto_mask(out[sub, K.O_TPS_USER], out[sub, K.O_OUT_TPS_GPU])
    if pareto:
        rows = np.flatnonzero(mask)
    elif top is not None or max_tpot_s or max_ttft_s or min_tps_user:
        rows = np.flatnonzero(fe)
    else:
        rows = np.arange(len(fe))
    if not objective.startswith("usd"):
        # order in numpy (stable: ties keep the configuration order), then build one frame
        v = out[rows, K.OUT_NAMES.index(objective)]
        order = np.argsort(-v if OBJECTIVES[objective] else v, kind="stable")
        rows = rows[order if top is None else order[:top]]
    df = _frame(cfg[rows], out[rows], wps, kvs).hstack([pl.Series("feasible", fe[rows]),
                                                        pl.Series("pareto", mask[rows])])
    if price is not None:
        df = df.with_columns(**_cost_exprs(price))
    if objective.startswith("usd"):
        df = df.sort(objective, descending=OBJECTIVES[objective], maintain_order=True)
        if top is not None:
            df = df.head(top)
    if df.height == 0:
        warnings.warn(f"il.serve_search: empty result: {_why_none(out, acc, max_tpot_s, max_ttft_s, min_tps_user)}",
                      EmptyResultWarning, stacklevel=2)
    return df


def _why_none(out: np.ndarray, acc, max_tpot_s, max_ttft_s, min_tps_user) -> str:
    """Why no evaluated configuration of :func:`serve_search` was kept: memory, or the bound
    that the best fitting configuration still misses (each bound checked on its own)."""
    from ._kernels import serving as K

    n = out.shape[0]
    fits = out[:, K.O_FITS] > 0.5
    if not fits.any():
        return (f"none of the {n:,} configurations fits in memory: the smallest needs "
                f"{out[:, K.O_MEM_GPU].min() / 1e9:.4g} GB per GPU, the {acc.name} exposes "
                f"{acc.memory_capacity_bytes / 1e9:.4g} GB (add GPUs, or lower the precisions or the context)")
    f = out[fits]
    missed = []
    for name, bound, best, cmp in (
            ("max_tpot_s", max_tpot_s, f[:, K.O_TPOT].min(), "smallest TPOT [s]"),
            ("max_ttft_s", max_ttft_s, f[:, K.O_TTFT].min(), "smallest TTFT [s]"),
            ("min_tokens_per_s_per_user", min_tps_user, f[:, K.O_TPS_USER].max(), "largest tokens/s per user")):
        if bound is not None and (best > bound if name.startswith("max") else best < bound):
            missed.append(f"{name} = {bound:g}: the {cmp} of the {int(fits.sum()):,} configurations that fit "
                          f"is {best:.4g}")
    if missed:
        return "; ".join(missed)
    given = (("max_tpot_s", max_tpot_s), ("max_ttft_s", max_ttft_s), ("min_tokens_per_s_per_user", min_tps_user))
    return (f"each bound is met by some configuration that fits, but none meets "
            f"{' and '.join(k for k, b in given if b is not None)} at once")


def _scenario_of(sc: Scenario, row: np.ndarray) -> Scenario:
    """The Scenario of one search row (for the reference path)."""
    from ._kernels import serving as K

    return sc.replace(serving={
        "tp": int(row[K.K_TP]), "pp": int(row[K.K_PP]), "dp": int(row[K.K_DP]), "ep": int(row[K.K_EP]),
        "dp_attention": bool(row[K.K_DPA] > 0.5), "weight_precision": _WPREC[int(row[K.K_WPREC])],
        "kv_precision": _KVPREC[int(row[K.K_KVPREC])], "concurrency": int(row[K.K_CONC]), "num_prompts": None,
    })


def _frame(cfg: np.ndarray, out: np.ndarray, wps, kvs) -> pl.DataFrame:
    from ._kernels import serving as K

    cols: dict[str, Any] = {
        "tp": cfg[:, K.K_TP].astype(np.int64), "pp": cfg[:, K.K_PP].astype(np.int64),
        "dp": cfg[:, K.K_DP].astype(np.int64), "ep": cfg[:, K.K_EP].astype(np.int64),
        "dp_attention": cfg[:, K.K_DPA] > 0.5,
        "weight_precision": pl.Series(list(_WPREC)).gather(cfg[:, K.K_WPREC].astype(np.uint32)),
        "kv_precision": pl.Series(list(_KVPREC)).gather(cfg[:, K.K_KVPREC].astype(np.uint32)),
        "concurrency": cfg[:, K.K_CONC].astype(np.int64),
        "gpus": (cfg[:, K.K_TP] * cfg[:, K.K_PP] * cfg[:, K.K_DP]).astype(np.int64),
    }
    for j, name in enumerate(K.OUT_NAMES):
        v = out[:, j]
        if name in ("fits", "kv_limited"):
            cols[name] = v > 0.5
        elif name == "max_concurrency":
            cols[name] = np.minimum(v, 2.0**62).astype(np.int64)
        else:
            cols[name] = v
    return pl.DataFrame(cols)


# ---------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------
def _cost_exprs(price: float) -> dict[str, pl.Expr]:
    usd_per_s = price / 3600.0 * pl.col("gpus")
    inp = pl.col("total_tokens_per_s") - pl.col("output_tokens_per_s")
    pf = pl.col("prefill_time_fraction")
    return {
        "usd_per_million_input_tokens": usd_per_s * pf / inp * 1e6,
        "usd_per_million_output_tokens": usd_per_s * (1.0 - pf) / pl.col("output_tokens_per_s") * 1e6,
        "usd_per_million_tokens": usd_per_s / pl.col("total_tokens_per_s") * 1e6,
        "usd_per_million_output_tokens_all_in": usd_per_s / pl.col("output_tokens_per_s") * 1e6,
    }


def token_costs(result, price_usd_per_gpu_hour: float) -> dict[str, float]:
    """$ per million tokens of a deployment at a price per GPU-hour.

    Parameters
    ----------
    result : ServeResult (or a mapping with gpus, output_tokens_per_s, total_tokens_per_s,
        prefill_time_fraction)
    price_usd_per_gpu_hour : owned or rented cost of one GPU-hour [USD/GPU-h]
        (:func:`gpu_hour_price`)

    Returns
    -------
    dict : usd_per_million_input_tokens and usd_per_million_output_tokens (GPU time split by
        the prefill share of the time, so input + output pay for the whole deployment),
        usd_per_million_tokens (all tokens, input + output), usd_per_million_output_tokens_all_in
        (all cost on the generated tokens, the usual "price per output token")

    Notes
    -----
    deployment $/s = price · gpus / 3600; $/M input = $/s · f_prefill / input tokens/s · 1e6;
    $/M output = $/s · (1 − f_prefill) / output tokens/s · 1e6.
    """
    p = _check_opt_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    if p is None:
        raise ValidationError("price_usd_per_gpu_hour = None: expected a finite number > 0 [USD/GPU-h]")
    get = (lambda k: getattr(result, k)) if isinstance(result, ServeResult) else (lambda k: result[k])
    try:
        gpus, out, tot, pf = (float(get(k)) for k in ("gpus", "output_tokens_per_s", "total_tokens_per_s",
                                                       "prefill_time_fraction"))
    except (KeyError, TypeError, AttributeError):
        raise ValidationError(f"result = {result!r}: expected a ServeResult or a mapping with gpus, "
                              "output_tokens_per_s, total_tokens_per_s, prefill_time_fraction") from None
    usd_s = p * gpus / 3600.0
    inp = tot - out
    return {
        "usd_per_million_input_tokens": usd_s * pf / inp * 1e6 if inp > 0 else 0.0,
        "usd_per_million_output_tokens": usd_s * (1.0 - pf) / out * 1e6,
        "usd_per_million_tokens": usd_s / tot * 1e6,
        "usd_per_million_output_tokens_all_in": usd_s / out * 1e6,
    }


def gpu_hour_price(accelerator: str, basis: str = "owned", *, provider: str | None = None,
                   term: str = "on-demand", statistic: str = "median", matched_with: str | None = None,
                   **owned_overrides: float) -> float:
    """Cost of one GPU-hour from the economics module [USD/GPU-h].

    The owned price is notebook 05's like-for-like one (``il.economics.owned_gpu_hour_price``):
    the P50 of the Monte Carlo of ``il.economics.compare_owned`` (``LIKE_FOR_LIKE_DRAWS`` draws,
    ``LIKE_FOR_LIKE_SEED``: 20,000 draws with the notebooks' seed) with
    every accelerator at its newest 8-GPU baseboard listing plus the same host, network and
    opex ranges (an accelerator without a listing: its default purchase price, see
    ``il.economics.owned_gpu_hour_quote``). Cached, so a repeated call is free.

    Parameters
    ----------
    accelerator : catalog name
    basis : "owned" (``il.economics.owned_gpu_hour_price``) or "rented"
        (``il.economics.rented_gpu_hour_price``: ``statistic`` of the providers' current listed
        prices for ``term``; with ``provider``, that provider's newest price; with
        ``matched_with``, only the providers that also list that accelerator on ``term``)
    provider, term, statistic, matched_with : rental provider, term ("on-demand", "1-year",
        ...), statistic over providers ("median", "min", "max", "mean") and the accelerator
        whose providers the rent is matched to
    **owned_overrides : owned-cost inputs held constant (utilization, life_years, ...);
        ``capex_usd_per_gpu`` replaces the baseboard listing

    Examples
    --------
    >>> 0.5 < gpu_hour_price("MI300X") < 10
    True
    """
    from . import economics

    if basis not in ("owned", "rented"):
        raise unknown("price basis", basis, ("owned", "rented"))
    if basis == "owned":
        if provider is not None:
            raise ValidationError("provider: only with basis = 'rented'")
        if matched_with is not None:
            raise ValidationError("matched_with: only with basis = 'rented'")
        fixed = dict(owned_overrides)
        price = fixed.pop("capex_usd_per_gpu", None)
        return float(economics.owned_gpu_hour_price(accelerator, price=price, fixed=fixed))
    if owned_overrides:
        raise ValidationError(f"{sorted(owned_overrides)}: owned-cost overrides only with basis = 'owned'")
    return economics.rented_gpu_hour_price(accelerator, term, statistic=statistic, provider=provider,
                                           matched_with=matched_with)


def cost_at_interactivity(front: pl.DataFrame, tokens_per_s_per_user: float,
                          cost: str = "usd_per_million_output_tokens_all_in") -> dict[str, Any]:
    """The cheapest configuration of a Pareto front that gives each user at least
    ``tokens_per_s_per_user`` (read off the front of :func:`serve_search` with a price).

    Returns the row as a dict (with the cost column), or raises ValidationError when no
    configuration reaches that interactivity.
    """
    v = _check_opt_positive("tokens_per_s_per_user", tokens_per_s_per_user)
    if v is None:
        raise ValidationError("tokens_per_s_per_user = None: expected a number > 0 [tokens/s]")
    if not isinstance(front, pl.DataFrame) or cost not in front.columns:
        raise ValidationError(f"front: expected a serve_search frame with a {cost!r} column "
                              "(pass price_usd_per_gpu_hour to serve_search)")
    ok = front.filter((pl.col("tokens_per_s_per_user") >= v) & pl.col("fits"))
    if ok.height == 0:
        best = float(front["tokens_per_s_per_user"].max()) if front.height else float("nan")
        raise ValidationError(f"tokens_per_s_per_user = {v:g}: no configuration reaches it (the front tops out "
                              f"at {best:.4g} tokens/s per user)")
    return ok.sort(cost).row(0, named=True)


# ---------------------------------------------------------------------------------------
# Validation on published serving benchmarks (data/measurements/serving_benchmarks.csv)
# ---------------------------------------------------------------------------------------
VALIDATION_BOUNDS = {
    "output_tokens_per_s_per_gpu": {"median": 15.0, "worst": 40.0},
    "tpot_s": {"median": 15.0},
    "ttft_s": {"median": 30.0},
}
"""Issue 13's bounds on the test split: median and worst |error| [%]."""

CALIBRATED = ("gemm_time_scale", "memory_time_scale", "step_overhead_s", "request_overhead_s", "seq_overhead_s")
"""Stack factors :func:`calibrate` fits per serving stack on the training split
(``request_overhead_s`` only for stacks with published TTFTs in their rows)."""

_BENCH_SCHEMA = {
    "id": Col("str", required=True), "source_key": Col("str", required=True),
    "model": Col("str", required=True), "dense_or_moe": Col("str", required=True, choices=("dense", "moe")),
    "accelerator": Col("str", required=True), "gpus": Col("int", required=True, positive=True),
    "engine": Col("str", required=True), "tp": Col("int", positive=True), "ep": Col("int", positive=True),
    "dp": Col("int", positive=True), "pp": Col("int", positive=True), "dp_attention": Col("bool"),
    "moe_tp": Col("int", positive=True), "weight_precision": Col("str"), "kv_precision": Col("str"),
    "spec_decoding": Col("str"), "spec_settings": Col("str"), "spec_acceptance": Col("float"),
    "benchmark_mode": Col("str", required=True), "isl_nominal": Col("float"), "osl_nominal": Col("float"),
    "input_tokens": Col("float", positive=True), "output_tokens": Col("float", positive=True),
    "concurrency": Col("float", positive=True), "request_rate_rps": Col("str"),
    "num_prompts": Col("float", positive=True), "engine_max_batch": Col("float", positive=True),
    "output_tokens_per_s": Col("float", positive=True), "output_tokens_per_s_per_gpu": Col("float", positive=True),
    "ttft_s": Col("float", positive=True), "ttft_stat": Col("str"), "tpot_s": Col("float", positive=True),
    "tpot_stat": Col("str"), "e2e_latency_s": Col("float", positive=True), "engine_args": Col("str"),
}


@functools.cache
def benchmarks() -> pl.DataFrame:
    """Published serving benchmarks with their full configurations, one row per point
    (``data/measurements/serving_benchmarks.csv``; columns in that folder's README)."""
    return catalog.read_table(catalog.DATA_DIR / "measurements" / "serving_benchmarks.csv", _BENCH_SCHEMA)


def split_of(row: dict) -> str:
    """"train" or "test" for a benchmark row, fixed by its configuration.

    The key is (source, model, accelerator, engine, tp, ep, dp, pp, DP attention, weight
    precision, nominal input and output lengths, benchmark mode): every point of one
    concurrency sweep lands on the same side, so a test configuration is never seen in
    training. A configuration is in the test split when crc32(key) mod 3 = 0 (about a third).
    """
    import zlib

    if not isinstance(row, dict):
        raise ValidationError(f"row = {row!r:.80}: expected a benchmark row as a dict")
    key = "|".join(str(row.get(k)) for k in (
        "source_key", "model", "accelerator", "engine", "tp", "ep", "dp", "pp", "dp_attention",
        "weight_precision", "isl_nominal", "osl_nominal", "benchmark_mode"))
    return "test" if zlib.crc32(key.encode()) % 3 == 0 else "train"


def _flag(args: str, *names: str) -> float | None:
    """The number after the first of ``names`` in an engine command line (None if absent)."""
    import re

    for n in names:
        m = re.search(rf"{re.escape(n)}[ =]+([0-9.]+(?:e[0-9]+)?)", args or "")
        if m:
            return float(m.group(1))
    return None


_GEN_SCHEMA = {"engine": Col("str", required=True), "first_current_version": Col("str", required=True),
               "first_current_date": Col("str", required=True)}


@functools.cache
def engine_generations() -> pl.DataFrame:
    """First engine version (and publication date, for unversioned measurements) of each
    engine's current software generation (data/serving/engine_generations.csv)."""
    return catalog.read_table(catalog.DATA_DIR / "serving" / "engine_generations.csv", _GEN_SCHEMA)


_CKPT_SCHEMA = {"model_hf": Col("str", required=True), "attention_precision": Col("str", required=True),
                "mtp_precision": Col("str"), "source_url": Col("str", required=True), "note": Col("str")}


@functools.cache
def checkpoints() -> pl.DataFrame:
    """Published checkpoints whose attention projections (and MTP layers) keep a precision
    of their own (data/serving/checkpoints.csv: model_hf, attention_precision, mtp_precision
    (empty: as the main layers), source_url, note), e.g. NVIDIA's NVFP4 DeepSeek-R1
    checkpoints (MoE and MLP in NVFP4, attention in BF16; blog 1's recipe: MTP layers in BF16)."""
    df = catalog.read_table(catalog.DATA_DIR / "serving" / "checkpoints.csv", _CKPT_SCHEMA)
    for col in ("attention_precision", "mtp_precision"):
        bad = set(df[col].drop_nulls()) - set(_WPREC)
        if bad:
            raise ValidationError(f"data/serving/checkpoints.csv: {col} {sorted(bad)!r}; allowed: {_WPREC}")
    return df


def _version(text: str | None) -> tuple[int, ...] | None:
    import re

    m = re.search(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def row_stack(row: dict) -> str | None:
    """The serving stack of a benchmark row: the engine's current stack, or its ``-early``
    stack when the engine version (or, unversioned, the publication date) predates the
    current generation of data/serving/engine_generations.csv; an early TensorRT-LLM row run
    with the PyTorch backend (before 0.19 a preview next to the compiled-engine flow) maps to
    ``trt-llm-cuda-early-pytorch``."""
    if not isinstance(row, dict) or not {"engine", "accelerator"} <= set(row):
        raise ValidationError(f"row = {row!r:.80}: expected a benchmark row (a dict with engine, accelerator, ...)")
    gen = {r["engine"]: r for r in engine_generations().iter_rows(named=True)}
    if row["engine"] not in gen:
        return None
    from .scenario import serving_stack

    base = serving_stack(row["engine"], row["accelerator"])
    g = gen[row["engine"]]
    ver = _version(row.get("engine_version"))
    if ver is not None:
        early = ver < _version(g["first_current_version"])
    else:
        date = row.get("source_date")
        early = bool(date) and str(date) < g["first_current_date"]
    from . import stacks

    names = stacks.names("serving")
    if early and row["engine"] == "trt-llm":
        text = f"{row.get('engine_version') or ''} {row.get('engine_args') or ''}".lower()
        if "pytorch" in text and f"{base}-early-pytorch" in names:
            return f"{base}-early-pytorch"
    return f"{base}-early" if early and f"{base}-early" in names else base


def trtllm_bench_settings(spec, accelerator: str, tp: int, pp: int, input_tokens: float, output_tokens: float,
                          weight_bytes: float, kv_bytes: float, kv_fraction: float = 0.95) -> tuple[int, int]:
    """(max_batch_size, max_num_tokens) that ``trtllm-bench throughput`` sets when the command
    gives neither: TensorRT-LLM's ``tensorrt_llm/bench/build/tuning.py`` (``calc_engine_setting``
    and ``finetune_setting``), written out here.

    KV room = kv_fraction · (device memory × tp·pp − parameters × weight bytes) [GiB] (device memory:
    the driver-reported total, catalog ``memory_capacity_bytes``); requests
    it holds at the full ISL+OSL length (2 · attention layers · max(tp, kv heads) · head size ·
    kv bytes per token); raw batch = min(requests, 4096)/pp rounded up (to 32 below 256 with a
    minimum of 64, to 128 below 1024, else to 256); raw tokens = raw batch · (1 + ISL/OSL)
    capped at 32768, rounded up (to 256 with a minimum of 2048 below 4096, to 512 below 8192,
    else to 1024). https://github.com/NVIDIA/TensorRT-LLM/blob/main/tensorrt_llm/bench/build/tuning.py
    """
    acc = catalog.accelerator(accelerator)
    gib = 1024.0**3
    per_token = 2 * len(spec.attention_windows()) * max(tp, spec.kv_heads) * spec.head_dim * kv_bytes / gib
    engine = spec.params_total * weight_bytes / gib
    room = (acc.memory_capacity_bytes / gib * tp * pp - engine) * kv_fraction
    requests = room / (per_token * (input_tokens + output_tokens))
    raw_bs = min(requests, 4096) / pp
    raw_tok = min(raw_bs * (1 + input_tokens / output_tokens), 32768)
    if raw_bs < 256:
        bs = max(64, 32 * math.ceil(raw_bs / 32))
    elif raw_bs < 1024:
        bs = 128 * math.ceil(raw_bs / 128)
    else:
        bs = 256 * math.ceil(raw_bs / 256)
    if raw_tok < 4096:
        tok = max(2048, 256 * math.ceil(raw_tok / 256))
    elif raw_tok < 8192:
        tok = 512 * math.ceil(raw_tok / 512)
    else:
        tok = 1024 * math.ceil(raw_tok / 1024)
    return int(bs), int(tok)


def _fixed_lengths(row: dict) -> bool:
    """A benchmark whose requests all have the same input and output lengths (its
    ``length_distribution`` says fixed, or names a range ratio of 1)."""
    text = (row.get("length_distribution") or "").lower()
    return text.startswith("fixed") or "= fixed" in text


def _row_scenario(row: dict) -> tuple[Scenario | None, dict[str, float], str]:
    """The serving Scenario of one benchmark row, stack overrides from its published engine
    arguments, and the reason when the row is not modelled (empty string otherwise)."""
    import re

    if row["engine"] not in ("vllm", "sglang", "trt-llm", "atom"):
        return None, {}, f"engine {row['engine']!r} (backend not named)"
    mode = row["benchmark_mode"]
    if mode == "decode_only_disaggregated":
        return None, {}, "decode instance of a disaggregated deployment"
    if not row["weight_precision"]:
        return None, {}, "weight precision not published"
    if not row["input_tokens"] or not row["output_tokens"]:
        return None, {}, "mean input or output length not published"
    spec_name = row["model"]
    from . import models

    spec = models.get(spec_name)
    wp = row["weight_precision"]
    if wp == "mxfp4":
        wp = "bf16" if spec.expert_weight_format == "mxfp4" else "fp4"
    kv = "fp8" if row["kv_precision"] == "fp8" else "bf16"
    gpus = int(row["gpus"])
    acc = catalog.accelerator(row["accelerator"])
    gpn = min(gpus, 8)
    nodes = max(1, gpus // gpn)
    hw = {"accelerator": acc.name, "nodes": nodes, "gpus_per_node": gpn}
    if acc.scaleup_domain > 8 and gpus > 8:
        hw["scaleup_domain"] = min(acc.scaleup_domain, gpus)
    dpa = bool(row["dp_attention"])
    tp, dp, pp = int(row["tp"] or gpus), int(row["dp"] or 1), int(row["pp"] or 1)
    ep = int(row["ep"] or 1)
    if row["moe_tp"] and not dpa and spec.experts:
        ep = max(1, tp // int(row["moe_tp"]))
    if row["moe_tp"] and dpa and spec.experts:
        ep = max(1, tp * dp // int(row["moe_tp"]))
    args = row["engine_args"] or ""
    over: dict[str, float] = {}
    mns = _flag(args, "--max-num-seqs", "--max_batch_size", "--max-running-requests")
    if row["engine_max_batch"]:
        mns = float(row["engine_max_batch"])
    if mns:
        over["max_num_seqs"] = mns
    mu = _flag(args, "--gpu-memory-utilization", "--mem-frac", "--mem-fraction-static")
    if mu:
        over["memory_utilization"] = mu
    chunk = _flag(args, "--max-num-batched-tokens", "--max_num_tokens", "--chunked-prefill-size")
    if row["engine"] == "trt-llm" and "trtllm-bench" in args and not mns and spec.attention != "mla":
        # trtllm-bench sizes the engine itself from the dataset's lengths and the KV room
        wb = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}[wp]
        frac = _flag(args, "kv_cache_free_gpu_mem_fraction") or 0.95
        bs, tok = trtllm_bench_settings(spec, acc.name, int(row["tp"] or gpus), int(row["pp"] or 1),
                                        float(row["input_tokens"]), float(row["output_tokens"]), wb,
                                        1.0 if kv == "fp8" else 2.0, frac)
        over["max_num_seqs"] = float(bs)
        chunk = chunk or float(tok)
    sv: dict[str, Any] = {
        "engine": row["engine"], "weight_precision": wp, "kv_precision": kv, "tp": tp, "ep": ep, "pp": pp,
        "dp": dp, "dp_attention": dpa, "input_tokens": max(1, round(row["input_tokens"])),
        "output_tokens": max(2, round(row["output_tokens"])),
    }
    if chunk:
        sv["chunk_tokens"] = int(chunk)
    ck = checkpoints().filter(pl.col("model_hf") == (row.get("model_hf") or ""))
    if ck.height and wp != ck["attention_precision"][0]:
        sv["attention_precision"] = ck["attention_precision"][0]
    if ck.height and ck["mtp_precision"][0] and row["spec_decoding"] == "mtp":
        sv["mtp_precision"] = ck["mtp_precision"][0]
    sv["stack"] = row_stack(row)
    if row["spec_decoding"] == "mtp":
        m = re.search(r"(\d+)", row["spec_settings"] or "")
        sv["spec_decoding"] = "mtp"
        sv["mtp_draft_tokens"] = int(m.group(1)) if m else 1
        if row["spec_acceptance"] is not None:
            sv["mtp_acceptance"] = float(row["spec_acceptance"])
    n_prompts = int(row["num_prompts"]) if row["num_prompts"] else None
    rate = row["request_rate_rps"]
    if mode == "offline_static_batch":
        sv["batching"] = "static"
        sv["concurrency"] = int(round(row["concurrency"]))
    elif mode == "offline_throughput" or (mode == "online_request_rate" and rate == "inf"):
        # every prompt queued at once: the running batch is the engine's cap or the KV limit;
        # one wave of all N prompts, whose prefills queue behind each other (mean TTFT)
        sv["concurrency"] = int(n_prompts or mns or 4096)
        if n_prompts:
            sv["num_prompts"] = n_prompts
    elif mode == "online_request_rate":
        sv["request_rate_rps"] = float(rate)
        sv["concurrency"] = int(n_prompts or 4096)
    else:  # online_concurrency, offline_concurrency
        sv["concurrency"] = int(round(row["concurrency"]))
        if n_prompts and n_prompts >= sv["concurrency"]:
            sv["num_prompts"] = n_prompts
        if mode == "online_concurrency" and _fixed_lengths(row):
            sv["lockstep"] = True  # identical requests: the closed loop's waves stay together
    try:
        sc = Scenario.from_dict({"name": row["id"], "model": {"preset": spec_name}, "hardware": hw, "serving": sv})
    except ValidationError as e:
        return None, over, f"not expressible: {e}"
    return sc, over, ""


def validation(stack_params: dict[str, dict[str, float]] | None = None) -> pl.DataFrame:
    """Predicted vs published serving benchmarks, one row per benchmark point.

    Parameters
    ----------
    stack_params : {stack: {parameter: value}} overrides of the serving stacks' factors
        (None: data/stacks.csv as calibrated)

    Returns
    -------
    polars.DataFrame
        id, source_key, split ("train" / "test"), model, dense_or_moe, accelerator, engine,
        stack, benchmark_mode, concurrency, then for output_tokens_per_s_per_gpu, tpot_s,
        ttft_s and e2e_latency_s: measured, predicted and error_pct (100·(pred/meas − 1);
        null where not published), excluded (the reason a row is not modelled, else null) and
        source_url.
    """
    if stack_params is not None and not isinstance(stack_params, dict):
        raise ValidationError(f"stack_params = {stack_params!r}: expected {{stack: {{parameter: value}}}}")
    from . import stacks

    checked = {}
    for st, over in (stack_params or {}).items():   # checked once here, not at every benchmark row
        st = stacks.canonical(st, "serving", where="stack_params")
        if not isinstance(over, dict):
            raise ValidationError(f"stack_params[{st!r}] = {over!r:.60}: expected a dict of parameter -> value")
        checked[st] = over
    stack_params = checked if stack_params is not None else None
    rows = []
    for r in benchmarks().iter_rows(named=True):
        sc, over, why = _row_scenario(r)
        out = {"id": r["id"], "source_key": r["source_key"], "split": split_of(r), "model": r["model"],
               "dense_or_moe": r["dense_or_moe"], "accelerator": r["accelerator"], "engine": r["engine"],
               "stack": sc.stack if sc is not None else None, "benchmark_mode": r["benchmark_mode"],
               "concurrency": r["concurrency"], "excluded": why or None, "source_url": r["source_url"]}
        pred = None
        if sc is not None:
            p = dict(over)
            p.update((stack_params or {}).get(sc.stack, {}))
            pred = serve(sc, stack_params=p)
        for metric in ("output_tokens_per_s_per_gpu", "tpot_s", "ttft_s", "e2e_latency_s"):
            meas = r.get(metric)
            if metric in ("tpot_s", "ttft_s") and r.get(metric.replace("_s", "_stat")) not in ("mean", "median"):
                meas = None
            pv = getattr(pred, metric) if pred is not None else None
            out[f"{metric}_measured"] = meas
            out[f"{metric}_predicted"] = pv
            out[f"{metric}_error_pct"] = 100.0 * (pv / meas - 1.0) if (meas and pv is not None) else None
        rows.append(out)
    return pl.DataFrame(rows, infer_schema_length=None)


_METRIC_UNITS = {"output_tokens_per_s_per_gpu": "tokens/s/GPU", "tpot_s": "s", "ttft_s": "s", "e2e_latency_s": "s"}


def published_comparison(stack_params: dict[str, dict[str, float]] | None = None) -> pl.DataFrame:
    """:func:`validation` in the long form every ``infra-lab validate`` suite shares: one row
    per published benchmark point and metric that the model predicts.

    Parameters
    ----------
    stack_params : as :func:`validation`

    Returns
    -------
    polars.DataFrame
        case (the benchmark row's id), split ("train": the stack factors were fitted on it;
        "test": not used in the fit), metric (output_tokens_per_s_per_gpu, tpot_s, ttft_s,
        e2e_latency_s), unit, measured, predicted, error_pct (100·(predicted/measured − 1)),
        source_url, and accelerator, engine, stack, dense_or_moe for grouping. Rows the model
        does not cover (``validation()``'s ``excluded``) and metrics a source does not publish
        are left out.
    """
    v = validation(stack_params).filter(pl.col("excluded").is_null())
    frames = []
    for metric, unit in _METRIC_UNITS.items():
        frames.append(v.filter(pl.col(f"{metric}_error_pct").is_not_null()).select(
            pl.col("id").alias("case"), "split", pl.lit(metric).alias("metric"), pl.lit(unit).alias("unit"),
            pl.col(f"{metric}_measured").cast(pl.Float64).alias("measured"),
            pl.col(f"{metric}_predicted").cast(pl.Float64).alias("predicted"),
            pl.col(f"{metric}_error_pct").cast(pl.Float64).alias("error_pct"),
            "source_url", "accelerator", "engine", "stack", "dense_or_moe"))
    return pl.concat(frames).sort("split", "metric", "case")


def validation_summary(df: pl.DataFrame | None = None, by: tuple[str, ...] = ("split",)) -> pl.DataFrame:
    """Median and worst |error| [%] and case counts per metric, grouped by ``by`` columns
    of :func:`validation` (e.g. ("split", "accelerator", "engine", "dense_or_moe"))."""
    if df is not None and not isinstance(df, pl.DataFrame):
        raise ValidationError(f"df = {df!r}: expected the polars DataFrame of il.serving.validation() (or None)")
    if isinstance(by, str) or not isinstance(by, (tuple, list)) or not by:
        raise ValidationError(f"by = {by!r}: expected a tuple of column names, e.g. ('split', 'accelerator')")
    df = validation() if df is None else df
    for col in by:
        if not isinstance(col, str) or col not in df.columns:
            raise unknown("validation column", col, [c for c in df.columns if not c.endswith(("_measured",
                          "_predicted", "_error_pct"))], where="by")
    if len(set(by)) != len(by):
        raise ValidationError(f"by = {by!r}: a column is named twice")
    frames = []
    for metric in ("output_tokens_per_s_per_gpu", "tpot_s", "ttft_s", "e2e_latency_s"):
        col = f"{metric}_error_pct"
        if col not in df.columns:
            continue
        sub = df.filter(pl.col(col).is_not_null())
        if sub.height == 0:
            continue
        frames.append(sub.group_by(list(by)).agg(
            pl.lit(metric).alias("metric"), pl.len().alias("cases"),
            pl.col(col).abs().median().alias("median_abs_error_pct"),
            pl.col(col).abs().max().alias("worst_abs_error_pct"),
            pl.col(col).median().alias("median_error_pct")))
    if not frames:
        raise ValidationError("df: no <metric>_error_pct column with values (expected il.serving.validation())")
    return pl.concat(frames).sort([*by, "metric"])


_METRIC_WEIGHTS = {"output_tokens_per_s_per_gpu": 1.0, "tpot_s": 1.0, "ttft_s": 0.5, "e2e_latency_s": 0.5}
_BOUNDS = {"gemm_time_scale": (0.3, 5.0), "memory_time_scale": (0.3, 5.0), "step_overhead_s": (0.0, 0.2),
           "request_overhead_s": (0.0, 0.2), "layer_overhead_s": (0.0, 5e-4), "seq_overhead_s": (0.0, 5e-4)}
_FIT_START = {"gemm_time_scale": 1.0, "memory_time_scale": 1.0, "step_overhead_s": 0.002, "request_overhead_s": 0.0,
              "seq_overhead_s": 0.0}  # calibrate's second start: the compute model as is, 2 ms per step


def _train_cases(split: str = "train"):
    """(stack, scenario, overrides, measured metrics) of the modelled rows of one split."""
    out = []
    for r in benchmarks().iter_rows(named=True):
        if split != "all" and split_of(r) != split:
            continue
        sc, over, why = _row_scenario(r)
        if sc is None:
            continue
        meas = {}
        for metric in _METRIC_WEIGHTS:
            v = r.get(metric)
            if metric in ("tpot_s", "ttft_s") and r.get(metric.replace("_s", "_stat")) not in ("mean", "median"):
                v = None
            if metric == "e2e_latency_s" and r["benchmark_mode"] != "offline_static_batch":
                v = None  # continuous-batching e2e follows from TTFT and TPOT
            if v:
                meas[metric] = float(v)
        out.append((sc.stack, sc, over, meas))
    return out


def calibrate(parameters: tuple[str, ...] = CALIBRATED, split: str = "train",
              stacks: list[str] | None = None) -> pl.DataFrame:
    """Fit serving-stack factors to the published benchmarks of one split.

    Parameters
    ----------
    parameters : stack factors to fit (each with bounds; default :data:`CALIBRATED`)
    split : "train" (the default and the only split used for the shipped values), "test" or "all"
    stacks : serving stacks to fit (default: every stack with rows in the split)

    Returns
    -------
    polars.DataFrame
        stack, parameter, value, start (the value in data/stacks.csv), rows (cases used),
        loss_start, loss (mean weighted |ln(predicted/measured)| over output tokens/s per GPU
        (weight 1), TPOT (1), TTFT (0.5) and static-batch e2e (0.5)).

    Notes
    -----
    A compass search in log space (bounded), started from the current values; each
    evaluation reruns the kernel on the stack's cases with the trial factors. The loss is an
    L1 of log errors so that one source with unusual software does not dominate.
    ``tools/calibrate_serving.py`` writes the result into data/stacks.csv.
    """
    from . import compute
    from . import stacks as stacks_mod

    for p in parameters:
        if p not in _BOUNDS:
            raise unknown("calibrated serving parameter", p, _BOUNDS)
    if split not in ("train", "test", "all"):
        raise unknown("split", split, ("train", "test", "all"))
    cases = _train_cases(split)
    todo = sorted({c[0] for c in cases}) if stacks is None else list(stacks)
    rows = []
    all_parameters = parameters
    for st in todo:
        mine = [c for c in cases if c[0] == st]
        if not mine:
            continue
        base = stacks_mod.params(st)
        # the fixed TTFT overhead is fitted only where TTFTs were measured
        parameters = tuple(n for n in all_parameters
                           if n != "request_overhead_s" or any("ttft_s" in c[3] for c in mine))

        def loss(values: dict[str, float], mine=mine) -> float:
            tot, wsum = 0.0, 0.0
            for _st, sc, over, meas in mine:
                p = {**over, **values}
                r = serve(sc, stack_params=p)
                for metric, m in meas.items():
                    w = _METRIC_WEIGHTS[metric]
                    tot += w * abs(math.log(getattr(r, metric) / m))
                    wsum += w
            return tot / wsum

        # the kernel floors memory_time_scale at each part's hbm_efficiency (no read beats HBM
        # peak); below the lowest hbm_efficiency of this stack's accelerators the loss is flat,
        # so the fit is bounded there and the stored value is never an unphysical number
        bounds = dict(_BOUNDS)
        bounds["memory_time_scale"] = (max(_BOUNDS["memory_time_scale"][0], min(
            compute.hbm_efficiency(sc.hardware.accelerator) for _s, sc, _o, _m in mine)),
            _BOUNDS["memory_time_scale"][1])

        def to_x(name: str, v: float) -> float:
            return math.log(v + (1e-5 if name.endswith("_s") else 0.0))

        def from_x(name: str, x: float, bounds=bounds) -> float:
            lo, hi = bounds[name]
            v = math.exp(x) - (1e-5 if name.endswith("_s") else 0.0)
            return min(max(v, lo), hi)

        def search(start: dict[str, float], parameters=parameters) -> tuple[float, dict[str, float]]:
            x = {n: to_x(n, start[n]) for n in parameters}
            cur = {n: from_x(n, x[n]) for n in parameters}
            best = loss(cur)
            step = 0.7
            while step > 0.02:
                improved = False
                for n in parameters:
                    for sgn in (1.0, -1.0):
                        trial = dict(x)
                        trial[n] = x[n] + sgn * step
                        vals = {k: from_x(k, v) for k, v in trial.items()}
                        val = loss(vals)
                        if val < best - 1e-9:
                            best, x, cur, improved = val, trial, vals, True
                            break
                if not improved:
                    step /= 2.0
            return best, cur

        start_loss = loss({n: from_x(n, to_x(n, base[n])) for n in parameters})
        # two starts (the current values and the neutral _FIT_START), the lower train loss wins:
        # the compass search stops in the nearest local minimum
        best, cur = min(search(base), search({**base, **{n: v for n, v in _FIT_START.items() if n in parameters}}),
                        key=lambda r: r[0])
        for n in parameters:
            rows.append({"stack": st, "parameter": n, "value": cur[n], "start": base[n], "rows": len(mine),
                         "loss_start": start_loss, "loss": best})
    return pl.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# An agent's request mix (notebook 07) and model-class comparisons
# ---------------------------------------------------------------------------------------
_MIX_SCHEMA = {"parameter": Col("str", required=True), "value": Col("float", required=True),
               "unit": Col("str", required=True), "basis": Col("str", required=True)}


@functools.cache
def _mix_table() -> pl.DataFrame:
    return catalog.read_table(catalog.DATA_DIR / "serving" / "maia_agent.csv", _MIX_SCHEMA)


def maia_mix_table() -> pl.DataFrame:
    """The agent task of notebook 07 as a table: parameter, value, unit, basis (every row of
    data/serving/maia_agent.csv is an assumption stated as such, with its source column)."""
    return _mix_table()


def maia_mix() -> dict[str, float]:
    """The multimodal agent task of notebook 07 (data/serving/maia_agent.csv; every value an
    assumption stated as such): {parameter: value}."""
    t = _mix_table()
    return dict(zip(t["parameter"].to_list(), (float(v) for v in t["value"]), strict=True))


def agent_request(mix: dict[str, float] | None = None, system: str = "qwen2.5-vl-7b",
                  audio_system: str = "qwen2-audio-7b") -> dict[str, Any]:
    """The mean model call of an agent task, with image and audio tokens and encoder FLOPs
    from :mod:`infra_lab.multimodal`.

    Parameters
    ----------
    mix : task parameters (default :func:`maia_mix`): calls_per_task, first_prompt_tokens,
        context_growth_tokens, output_tokens_per_call, images_per_task, image_height_px,
        image_width_px, audio_seconds_per_task
    system, audio_system : multimodal systems whose vision / audio encoders turn the media
        into tokens and FLOPs

    Returns
    -------
    dict : image_tokens (per image), audio_tokens (per task), media_tokens (per task),
        input_tokens and output_tokens (mean per call, media positions included) [tokens],
        text_input_tokens (the mean call's prompt without the positions its own media add)
        [tokens], images_per_call [-], audio_s_per_call [s], image_size ([height, width] px),
        vision_encoder / audio_encoder (encoder preset names), encoder_flops_per_task and
        encoder_flops_per_call [FLOP], calls, input_tokens_per_task, output_tokens_per_task.
        :func:`agent_model` and :func:`agent_serving` turn it into a serving scenario.

    Notes
    -----
    The pictures arrive with the first call and stay in the context; the speech arrives in
    equal parts with each call (the user speaks at every turn) and stays too, so call j
    (0-based) has first_prompt + j·growth + image tokens + (j+1)/n of the speech tokens. Each
    call encodes its own share of the media (``images_per_call``, ``audio_s_per_call``): the
    pictures once per task in all, each turn's speech as its own clip (a Whisper-type encoder
    pads every clip to its 30-s window).
    """
    from collections.abc import Mapping

    from . import multimodal as mm

    if mix is not None and not isinstance(mix, Mapping):
        raise ValidationError(f"mix = {mix!r}: expected a mapping {{parameter: value}} like il.serving.maia_mix()")
    m = maia_mix() if mix is None else dict(mix)
    need = ("calls_per_task", "first_prompt_tokens", "context_growth_tokens", "output_tokens_per_call",
            "images_per_task", "image_height_px", "image_width_px", "audio_seconds_per_task")
    for k in need:
        if k not in m:
            raise ValidationError(f"mix: missing {k!r}; expected the parameters of data/serving/maia_agent.csv")
        v = m[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValidationError(f"mix[{k!r}] = {v!r}: expected a finite number >= 0")
    if m["calls_per_task"] < 1 or m["output_tokens_per_call"] < 2:
        raise ValidationError(f"mix: calls_per_task = {m['calls_per_task']!r} must be >= 1 and output_tokens_per_call "
                              f"= {m['output_tokens_per_call']!r} >= 2")
    for name, val in (("system", system), ("audio_system", audio_system)):
        if not isinstance(val, str):
            raise ValidationError(f"{name} = {val!r}: expected a multimodal system preset name")
    n = m["calls_per_task"]
    size = (int(m["image_height_px"]), int(m["image_width_px"]))
    vis = mm.system(system).vision
    aud = mm.system(audio_system).audio
    img_tok = float(vis.image_grid(*size)["lm_tokens"])
    secs = m["audio_seconds_per_task"]
    aud_tok = float(aud.audio_frames(secs)["lm_tokens"]) if secs > 0 else 0.0
    media = m["images_per_task"] * img_tok + aud_tok
    mean_in = (m["first_prompt_tokens"] + m["context_growth_tokens"] * (n - 1) / 2.0
               + m["images_per_task"] * img_tok + aud_tok * (n + 1) / (2.0 * n))
    own = (m["images_per_task"] * img_tok + aud_tok) / n   # positions the call's own media add
    sysm = {"preset": mm.system(system).lm.name, "vision": vis.name, "audio": aud.name}
    enc_call = mm.encoder_prefill(sysm, "MI300X", images=m["images_per_task"] / n, image_size=size,
                                  audio_s=secs / n).flops
    return {"image_tokens": img_tok, "audio_tokens": aud_tok, "media_tokens": media, "calls": n,
            "input_tokens": mean_in, "output_tokens": m["output_tokens_per_call"],
            "text_input_tokens": mean_in - own, "images_per_call": m["images_per_task"] / n,
            "audio_s_per_call": secs / n, "image_size": list(size),
            "vision_encoder": vis.name, "audio_encoder": aud.name,
            "encoder_flops_per_task": enc_call * n, "encoder_flops_per_call": enc_call,
            "input_tokens_per_task": n * mean_in, "output_tokens_per_task": n * m["output_tokens_per_call"]}


def agent_model(preset: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The [model] table of a text ``preset`` with the agent's vision and audio encoders
    attached (:func:`agent_request`'s ``vision_encoder`` / ``audio_encoder``), so that
    :func:`serve` prices their prefill with :func:`infra_lab.multimodal.encoder_prefill`."""
    req = _agent_req(request)
    if not isinstance(preset, str):
        raise ValidationError(f"preset = {preset!r}: expected a text model preset name")
    return {"preset": preset, "vision": req["vision_encoder"], "audio": req["audio_encoder"]}


def _agent_req(request) -> dict[str, Any]:
    """An :func:`agent_request` dict (None: the default mix), checked for its keys."""
    from collections.abc import Mapping

    if request is None:
        return agent_request()
    need = ("text_input_tokens", "output_tokens", "images_per_call", "image_size", "audio_s_per_call",
            "vision_encoder", "audio_encoder")
    if not isinstance(request, Mapping) or any(k not in request for k in need):
        raise ValidationError(f"request = {request!r}: expected il.serving.agent_request(...) (keys {', '.join(need)})")
    return dict(request)


def agent_serving(request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The [serving] keys of the agent's mean call: text prompt, output, and the media each call
    encodes (with :func:`agent_model`, the call's prompt is ``request["input_tokens"]``)."""
    req = _agent_req(request)
    return {"input_tokens": int(round(req["text_input_tokens"])), "output_tokens": int(round(req["output_tokens"])),
            "images_per_request": req["images_per_call"], "image_size": list(req["image_size"]),
            "audio_s_per_request": req["audio_s_per_call"]}


def class_comparison(models, accelerators, *, gpus: int = 8, engine: str = "vllm",
                     tokens_per_s_per_user: float = 30.0, request: dict[str, float] | None = None,
                     price_basis: str = "owned") -> pl.DataFrame:
    """For each model and accelerator: the smallest replica, the KV room of ``gpus`` GPUs and
    the cheapest configuration of ``gpus`` GPUs that gives every user at least
    ``tokens_per_s_per_user`` (read off :func:`serve_search`'s front).

    Returns
    -------
    polars.DataFrame : model, accelerator, min_gpus_replica (fewest GPUs, tp in 1/2/4/8, that
        hold the weights and one request at the mean context; null if none), weights_GB_per_gpu
        (of the best configuration), max_concurrency (of ``gpus`` GPUs, tp = gpus),
        usd_per_gpu_hour, tp, dp, ep, weight_precision, concurrency, tokens_per_s_per_user,
        output_tokens_per_s_per_gpu, ttft_s, usd_per_million_output_tokens_all_in,
        usd_per_million_tokens, usd_per_task (calls × output tokens × all-in $/M), reached
        (a configuration met the interactivity)
    """
    from . import _validate as V
    from . import models as models_mod

    models = V.sequence("models", models, "model preset names")
    V.integer("gpus", gpus)
    accelerators = V.sequence("accelerators", accelerators, "accelerator names")
    req = agent_request() if request is None else request
    rows = []
    for model in models:
        spec = models_mod.get(model)
        for acc in accelerators:
            a = catalog.accelerator(acc)
            price = gpu_hour_price(a.name, price_basis)
            base = {"model": agent_model(spec.name, req), "hardware": {"accelerator": a.name, "nodes": 1,
                                                                        "gpus_per_node": gpus},
                    "serving": {"engine": engine, "tp": gpus, **agent_serving(req),
                                "weight_precision": "fp8" if "fp8" in a.peak_flops else "bf16"}}
            if spec.experts and spec.experts % gpus == 0:
                base["serving"]["ep"] = gpus
            min_gpus = None
            for g in (1, 2, 4, 8):
                if g > gpus or spec.heads % g:
                    continue
                d = {**base, "hardware": {**base["hardware"], "gpus_per_node": g},
                     "serving": {**base["serving"], "tp": g, "ep": 1, "concurrency": 1}}
                if spec.experts and spec.experts % g == 0:
                    d["serving"]["ep"] = g
                if serve(d).fits:
                    min_gpus = g
                    break
            full = serve({**base, "serving": {**base["serving"], "concurrency": 1}})
            with empty_reasons():      # a front that misses the target is the row's "reached" = False
                front = serve_search(base, top=None, price_usd_per_gpu_hour=price,
                                     min_tokens_per_s_per_user=tokens_per_s_per_user)
            row = {"model": spec.name, "accelerator": a.name, "min_gpus_replica": min_gpus,
                   "max_concurrency": full.max_concurrency if full.fits else 0, "usd_per_gpu_hour": price}
            if front.height:
                b = cost_at_interactivity(front, tokens_per_s_per_user)
                row.update({k: b[k] for k in ("tp", "dp", "ep", "weight_precision", "concurrency",
                                              "tokens_per_s_per_user", "output_tokens_per_s_per_gpu", "ttft_s",
                                              "usd_per_million_output_tokens_all_in", "usd_per_million_tokens")})
                row["weights_GB_per_gpu"] = b["weights_per_gpu_bytes"] / 1e9
                row["usd_per_task"] = b["usd_per_million_output_tokens_all_in"] * req["output_tokens_per_task"] / 1e6
                row["reached"] = True
            else:
                row["reached"] = False
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
