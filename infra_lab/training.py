"""End-to-end training step: step time, MFU, tokens/s, memory and the parallelism search.

``il.estimate(scenario)`` composes one optimizer step from

* per-micro-batch forward/backward compute of the slowest pipeline stage (its layers plus
  the LM head), from the compute model (:func:`infra_lab.compute.layer_ops`: GEMM, fused
  attention and memory-bound ops); recomputation adds the re-run forward (``full``) or the
  attention core (``selective``);
* tensor-parallel collectives per layer (2 all-reduces per pass, or reduce-scatter +
  all-gather pairs with sequence parallelism; +2 with full recompute; the all-gather redone
  in backward with selective recompute + SP) and the stack's overlap factor;
* the context-parallel ring exchange of K/V, overlapped with the attention core;
* the expert-parallel all-to-all (dispatch + combine, forward and backward) per MoE layer
  with a load-imbalance factor on the experts' compute and traffic;
* pipeline send/recv and the bubble of 1F1B, (pp − 1)/vp micro-batch times for the
  interleaved schedule;
* the data-parallel gradient all-reduce (ZeRO-0) or reduce-scatter + parameter all-gather
  (ZeRO-1/2), and for ZeRO-3/FSDP parameter all-gathers in forward and backward of every
  micro-batch, each overlapped with its compute window;
* the optimizer step (memory-bound update of the local, possibly sharded, parameters);
* FP8: GEMMs at the FP8 rate of the compute model plus a named cast/scaling overhead.

Every efficiency or overlap factor is a named parameter of a *software stack*
(``data/stacks.csv`` through :mod:`infra_lab.stacks`: ``megatron-lm-2022-cuda`` for the 2021-22
A100 runs, ``megatron-core-cuda`` and ``megatron-core-rocm`` with vendor-symmetric factors, and
labelled ``*-asym`` sensitivity stacks), one value per stack, never per case. The stack is the
scenario's ``[training] stack`` or the accelerator vendor's default. Collectives use a compact α–β model whose bandwidths and
latencies come from the catalog (link counts and rates, NIC line rate) and
``data/network_constants.csv`` (achieved link/NIC fractions, NCCL/RCCL latencies).

**MFU** is model FLOPs per second over the *dense BF16 peak* of all GPUs, whatever the
training precision. Model FLOPs count a training step as 3 × forward without
recomputation and with the attention core counted as full (non-causal) s² work, as
Korthikanti et al. 2022 and PaLM do (``ModelSpec.flops_per_token(causal=False)``);
``tflops_per_gpu`` uses the same count.

The step model is written once (:func:`infra_lab._kernels.training.step_model`); the
numba-compiled copy of that same function evaluates every plan of :func:`search` in
parallel, and ``estimate`` calls the plain-Python original.

Examples
--------
>>> import infra_lab as il
>>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
>>> est.fits, 0.0 < est.mfu < 1.0
(True, True)
>>> sorted(est.breakdown["component"])[:3]
['compute_bwd', 'compute_fwd', 'compute_recompute']
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from . import catalog, stacks
from ._kernels import training as kt
from .errors import ValidationError, unknown
from .scenario import Scenario

__all__ = [
    "Estimate", "estimate", "search", "stack_params", "STACK_PARAMS",
    "COMPONENTS", "OBJECTIVES", "SEARCH_CONSTRAINTS", "plan_space_size",
]

COMPONENTS = kt.OUT_NAMES[: kt.N_COMPONENTS]
"""Breakdown components (seconds per step), in order."""

OBJECTIVES = {  # name -> True if larger is better
    "tokens_per_s": True, "mfu": True, "tflops_per_gpu": True, "step_time_s": False,
    "memory_per_gpu_bytes": False,
}

STACK_PARAMS = (
    "framework_time_scale", "memory_time_scale", "flash_attention", "causal_skip", "dropout",
    "tp_comm_overlap", "cp_comm_overlap", "ep_comm_overlap", "ep_load_imbalance",
    "pp_p2p_overlap", "dp_comm_overlap", "zero3_comm_overlap", "zero3_bandwidth_efficiency",
    "grad_reduce_bytes",
    "grad_buffer_bytes", "weight_bytes", "memory_reserve_bytes", "memory_reserve_fraction",
    "fp8_gemm_overhead",
)
"""Factors every training stack must define (data/stacks.csv)."""

_RC = {"none": 0, "selective": 1, "full": 2}
_RC_NAMES = {v: k for k, v in _RC.items()}

_FRACTIONS = ("memory_reserve_fraction", "zero3_bandwidth_efficiency")


def stack_params(stack: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The training factors of ``stack`` (:func:`infra_lab.stacks.params`) with optional
    ``overrides``, checked for completeness and range (overlaps and fractions in 0..1,
    scales > 0, load imbalance >= 1, byte sizes > 0)."""
    p = stacks.params(stack, overrides)
    if stacks.info(stack)["purpose"] != "training":
        raise ValidationError(f"stack = {stack!r}: a {stacks.info(stack)['purpose']} stack; "
                              f"training stacks: {', '.join(stacks.names('training'))}")
    missing = [k for k in STACK_PARAMS if k not in p]
    if missing:
        raise ValidationError(f"data/stacks.csv: stack {stack!r} lacks {', '.join(missing)}")
    for k, v in p.items():
        frac = k.endswith("_overlap") or k in _FRACTIONS
        bad = (not math.isfinite(v) or v < 0 or (frac and v > 1) or (k.endswith("_scale") and v <= 0)
               or (k == "zero3_bandwidth_efficiency" and v <= 0) or (k == "ep_load_imbalance" and v < 1)
               or (k.endswith("_bytes") and k != "memory_reserve_bytes" and v <= 0)
               or (k == "memory_reserve_fraction" and v >= 1))
        if bad:
            allowed = ("0..1" if frac else ">= 1" if k == "ep_load_imbalance"
                       else ">= 0" if k == "memory_reserve_bytes" else "> 0")
            raise ValidationError(f"stack parameter {k} = {v!r} (stack {stack}): allowed {allowed}")
    return p


# --------------------------------------------------------------------------------------
# Network constants (α–β) from the catalog and data/network_constants.csv
# --------------------------------------------------------------------------------------
def _hardware_consts(hw, sp: dict[str, float]) -> dict[str, float]:
    """Bandwidths and latencies from the network helper's float parameters
    (:func:`infra_lab.collectives.collective_time_params`): achieved scale-up link and
    per-GPU NIC bandwidth, NCCL/RCCL ring/Simple base and per-step latencies."""
    from . import collectives
    from ._kernels import fabric as kf

    acc = catalog.accelerator(hw.accelerator)
    cp = collectives.collective_time_params(hw)
    P = cp.array
    ring_simple = 2  # class 0 (ring) × 3 + protocol Simple
    return {
        "HBM": acc.hbm_bytes, "D": float(cp.domain), "MESH": 1.0 if cp.mesh else 0.0,
        "LINK_BW": cp.link_Bps, "NLINKS": float(cp.links_per_gpu),
        "NIC_BW": cp.nic_per_gpu_Bps / hw.oversubscription,  # all inter-node traffic crosses the tier
        "RAILS_ONLY": 1.0 if hw.fabric == "rails-only" else 0.0,
        "A2A_PENALTY": 0.0,
        "BASE_LAT": float(P[kf.P_BASE + ring_simple]), "A_UP": float(P[kf.P_HWI + ring_simple]),
        "A_NET": float(P[kf.P_HWN + ring_simple] + P[kf.P_LATINTER]),
    }


# --------------------------------------------------------------------------------------
# Context: constants + compute tables for one (model, hardware, training, stack)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    c: np.ndarray
    tab: np.ndarray
    tps: tuple[int, ...]
    mbss: tuple[int, ...]
    cps: tuple[int, ...]
    model_flops_per_step: float
    peak_bf16: float
    world: int
    tokens_per_step: float
    stack: str


def _freeze(d: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


def _model_consts(spec, seq_len: int, sp: dict[str, float]) -> dict[str, float]:
    from .memory import _param_groups  # the same parameter split as the memory model

    kinds = spec.layer_kinds()
    grp = _param_groups(spec)
    if spec.attention == "mla":
        hkv = spec.kv_lora_rank + spec.qk_rope_head_dim
    else:
        hkv = spec.kv_heads * spec.head_dim
    return {
        "L": float(spec.layers), "NMOE": float(kinds.count("moe")), "H": float(spec.hidden),
        "S": float(seq_len), "V": float(spec.vocab), "HKV": float(hkv),
        "TOPK": float(spec.top_k or 1), "P_LAYERS": grp["layers"], "P_EXPERTS": grp["experts"],
        "P_EMB": grp["embedding"], "P_HEAD": grp["lm_head"], "DROPOUT": sp["dropout"],
    }


def _tables(spec, acc_name: str, precision: str, seq_len: int, sp: dict[str, float],
            tps, mbss, cps) -> np.ndarray:
    """tab[kind, part, tp_i, mbs_i, cp_i, sp] from compute.layer_ops [s]."""
    from . import compute, memory

    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    n_dense_like = sum(v for k, v in counts.items() if k != "moe")
    tab = np.zeros((3, len(kt.PART_NAMES), len(tps), len(mbss), len(cps), 2))
    fp8 = 1.0 + (sp["fp8_gemm_overhead"] if precision == "fp8" else 0.0)
    for (ti, tp), (mi, mbs), (ci, cp), spf in itertools.product(
            enumerate(tps), enumerate(mbss), enumerate(cps), (0, 1)):
        if spf and tp == 1:
            tab[:, :, ti, mi, ci, 1] = tab[:, :, ti, mi, ci, 0]
            continue
        ops = compute.layer_ops(spec, seq_len // cp, mbs, tp, acc_name, precision,
                                causal=bool(sp["causal_skip"]), flash=bool(sp["flash_attention"]),
                                sequence_parallel=bool(spf), passes=("fwd", "bwd"))
        kind = ops["layer_kind"].to_list()
        ps = ops["pass"].to_numpy()
        ot = ops["op_type"].to_numpy()
        op = ops["op"].to_list()
        t = ops["time_s"].to_numpy().copy()
        att = ot == "attention"
        t[att] *= cp                      # with CP each rank's queries see all s keys
        expert = np.array([o.startswith("experts_") for o in op])
        gemm = (ot == "gemm")
        t[gemm] *= fp8
        softmax = np.array([o == "softmax" for o in op])
        for kname in set(kind):
            sel = np.array([k == kname for k in kind])
            if kname == "moe":
                slot, w = 1, 1.0
            elif kname == "head":
                slot, w = 2, 1.0
            else:
                slot, w = 0, counts.get(kname, 0) / max(n_dense_like, 1)
            fwd, bwd = sel & (ps == "fwd"), sel & (ps == "bwd")
            parts = (fwd & gemm & ~expert, fwd & gemm & expert, fwd & att, fwd & (ot == "memory"),
                     bwd & gemm & ~expert, bwd & gemm & expert, bwd & att, bwd & (ot == "memory"),
                     fwd & (att | softmax))
            for pi, mask in enumerate(parts):
                tab[slot, pi, ti, mi, ci, spf] += w * float(t[mask].sum())
        for ri, rc in enumerate(("none", "selective", "full")):
            act = memory.activation_bytes_per_layer(
                spec, seq_len, mbs, tp, sequence_parallel=bool(spf), recompute=rc,
                flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp)
            for kname, b in act.items():
                slot = 1 if kname == "moe" else 0
                w = 1.0 if slot == 1 else counts.get(kname, 0) / max(n_dense_like, 1)
                tab[slot, kt.P_ACT_NONE + ri, ti, mi, ci, spf] += w * b
    return tab


@functools.lru_cache(maxsize=64)
def _context_cached(model: tuple, hw_t: tuple, seq_len: int, global_batch: int, precision: str,
                    optimizer: str, stack: str, overrides: tuple, tps: tuple, mbss: tuple,
                    cps: tuple) -> _Context:
    from . import compute, memory, models
    from .scenario import HardwareConfig

    spec = models.ModelSpec.from_dict(dict(model))
    hw = HardwareConfig.from_dict(dict(hw_t))
    sp = stack_params(stack, dict(overrides))
    acc = catalog.accelerator(hw.accelerator)
    vals: dict[str, float] = {}
    vals.update(_model_consts(spec, seq_len, sp))
    vals["GB"] = float(global_batch)
    vals.update(_hardware_consts(hw, sp))
    vals.update({
        "FW_SCALE": sp["framework_time_scale"], "MEM_SCALE": sp["memory_time_scale"],
        "TP_OVL": sp["tp_comm_overlap"], "CP_OVL": sp["cp_comm_overlap"],
        "EP_OVL": sp["ep_comm_overlap"], "EP_IMB": sp["ep_load_imbalance"],
        "PP_OVL": sp["pp_p2p_overlap"], "DP_OVL": sp["dp_comm_overlap"],
        "Z3_OVL": sp["zero3_comm_overlap"], "Z3_EFF": sp["zero3_bandwidth_efficiency"],
        "GRAD_BYTES": sp["grad_reduce_bytes"],
        "GRADBUF_BYTES": sp["grad_buffer_bytes"],
        "OPT_STATE_BYTES": memory.OPTIMIZER_STATE_BYTES[optimizer],
        "WEIGHT_BYTES": sp["weight_bytes"], "ACT_BYTES": 2.0,
        "OPT_T_PER_PARAM": compute.optimizer_step_time(1e9, acc.name, optimizer) / 1e9,
        "MEM_RESERVE": (sp["memory_reserve_bytes"] + sp["memory_reserve_fraction"] * acc.hbm_bytes) / acc.hbm_bytes,
    })
    c = np.array([vals[n] for n in kt.C_NAMES], dtype=np.float64)
    if not np.all(np.isfinite(c)):
        bad = [n for n, v in zip(kt.C_NAMES, c, strict=True) if not math.isfinite(v)]
        raise ValidationError(f"training model constants not finite: {bad}")
    tab = _tables(spec, acc.name, precision, seq_len, sp, tps, mbss, cps)
    mflops = spec.flops_per_token(seq_len, training=True, causal=False, recompute="none") * seq_len * global_batch
    return _Context(c=c, tab=tab, tps=tps, mbss=mbss, cps=cps, model_flops_per_step=mflops,
                    peak_bf16=acc.peak("bf16"), world=hw.world_size,
                    tokens_per_step=float(seq_len * global_batch), stack=stack)


def _context(sc: Scenario, tps, mbss, cps, stack: str | None, params: dict | None) -> _Context:
    if params is not None and not isinstance(params, dict):
        raise ValidationError(f"params = {params!r}: expected a dict of stack parameter -> number")
    if stack is None:
        stack = sc.stack
    else:
        stacks.check_stack(stack, sc.hardware.accelerator, "training")
    tr = sc.training
    return _context_cached(_freeze(sc.model), _freeze(sc.hardware.to_dict()), tr.seq_len,
                           tr.global_batch, tr.precision, tr.optimizer, stack,
                           _freeze(params or {}), tuple(tps), tuple(mbss), tuple(cps))


# --------------------------------------------------------------------------------------
# estimate
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One training step of a scenario.

    Attributes
    ----------
    step_time_s : time of one optimizer step [s]
    tokens_per_s : global_batch · seq_len / step_time_s [tokens/s]
    tokens_per_s_per_gpu : tokens_per_s / GPUs [tokens/s]
    mfu : model FLOPs utilisation against the dense BF16 peak [-]
    tflops_per_gpu : model FLOPs per second per GPU [TFLOP/s]
    memory_per_gpu_bytes : peak memory on the most loaded GPU [bytes]
    fits : memory_per_gpu_bytes ≤ HBM capacity
    breakdown : polars DataFrame (component, seconds) summing to step_time_s
    stack : software stack whose factors were used
    model_flops_per_step : FLOPs of one step (3 × forward, no recompute, full attention) [FLOP]
    gpus : GPUs in the cluster
    """

    step_time_s: float
    tokens_per_s: float
    tokens_per_s_per_gpu: float
    mfu: float
    tflops_per_gpu: float
    memory_per_gpu_bytes: float
    fits: bool
    breakdown: pl.DataFrame = field(repr=False)
    stack: str = ""
    model_flops_per_step: float = 0.0
    gpus: int = 0

    def days_to_train(self, tokens: float) -> float:
        """Days of uninterrupted training for ``tokens`` [days]."""
        return float(tokens) / self.tokens_per_s / 86400.0

    def to_dict(self) -> dict[str, Any]:
        """Scalar fields as a dict (breakdown components included as ``<name>_s``)."""
        d = {k: getattr(self, k) for k in ("step_time_s", "tokens_per_s", "tokens_per_s_per_gpu",
                                           "mfu", "tflops_per_gpu", "memory_per_gpu_bytes",
                                           "fits", "stack", "gpus")}
        d.update({f"{c}_s": s for c, s in self.breakdown.iter_rows()})
        return d


def _plan_of(sc: Scenario) -> tuple[int, ...]:
    p, tr = sc.parallelism, sc.training
    return (p.tp, p.pp, p.vp, p.cp, p.ep, p.dp, tr.micro_batch, p.zero, int(p.fsdp),
            _RC[tr.recompute], int(p.sequence_parallel))


def estimate(scenario: Scenario | dict, *, stack: str | None = None,
             params: dict[str, float] | None = None) -> Estimate:
    """Step time, throughput, MFU and memory of one training scenario.

    Parameters
    ----------
    scenario : Scenario or the plain dict of its tables
    stack : software stack name (default: the scenario's ``training.stack``, else the
        accelerator vendor's default, :func:`infra_lab.stacks.default_stack`)
    params : overrides of the stack's named factors, e.g. ``{"dp_comm_overlap": 0.0}``

    Returns
    -------
    Estimate

    Notes
    -----
    step = m·(t_f + t_b + t_r) + exposed TP/CP/EP comm + pipeline p2p + (pp−1)/vp bubble
    + exposed DP comm + optimizer, on the slowest pipeline stage; see the module docstring
    and :mod:`infra_lab._kernels.training`.

    Examples
    --------
    >>> import infra_lab as il
    >>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    >>> abs(est.breakdown["seconds"].sum() - est.step_time_s) < 1e-9 * est.step_time_s
    True
    """
    sc = Scenario.from_dict(scenario)
    plan = _plan_of(sc)
    tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, rc, spf = plan
    ctx = _context(sc, (tp,), (mbs,), (cp,), stack, params)
    out = kt.step_model(ctx.c, ctx.tab, tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, rc, spf, 0, 0, 0)
    return _estimate_from(out, ctx)


def _estimate_from(out, ctx: _Context) -> Estimate:
    step = float(out[kt.N_COMPONENTS])
    if not (math.isfinite(step) and step > 0):
        raise ValidationError(f"step time {step!r}: the model produced a non-positive or non-finite time")
    tps = ctx.tokens_per_step / step
    bd = pl.DataFrame({"component": list(COMPONENTS),
                       "seconds": [float(x) for x in out[: kt.N_COMPONENTS]]},
                      schema={"component": pl.String, "seconds": pl.Float64})
    return Estimate(
        step_time_s=step, tokens_per_s=tps, tokens_per_s_per_gpu=tps / ctx.world,
        mfu=ctx.model_flops_per_step / (step * ctx.world * ctx.peak_bf16),
        tflops_per_gpu=ctx.model_flops_per_step / (step * ctx.world) / 1e12,
        memory_per_gpu_bytes=float(out[kt.N_COMPONENTS + 1]), fits=bool(out[kt.N_COMPONENTS + 2] > 0.5),
        breakdown=bd, stack=ctx.stack, model_flops_per_step=ctx.model_flops_per_step, gpus=ctx.world,
    )


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------
_PLAN_KEYS = ("tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero", "fsdp", "recompute",
              "sequence_parallel")
SEARCH_CONSTRAINTS = tuple(_PLAN_KEYS) + tuple(
    f"{b}_{k}" for k in ("tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero") for b in ("max", "min"))
"""Keyword constraints of :func:`search`: a plan key = a value or a list of values
(``recompute`` as "none"/"selective"/"full"), or ``max_<key>`` / ``min_<key>`` bounds."""

DEFAULT_MAX = {"micro_batch": 16, "vp": 8, "cp": 16}


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _allowed(name: str, values, cons: dict) -> list:
    vals = list(values)
    if name in cons:
        want = cons[name]
        want = list(want) if isinstance(want, (list, tuple, set)) else [want]
        if name == "recompute":
            want = [_RC[w] if isinstance(w, str) else int(w) for w in want]
        elif name in ("fsdp", "sequence_parallel"):
            want = [int(bool(w)) for w in want]
        vals = [v for v in vals if v in want]
    lo = cons.get(f"min_{name}")
    hi = cons.get(f"max_{name}", DEFAULT_MAX.get(name))
    if lo is not None:
        vals = [v for v in vals if v >= lo]
    if hi is not None:
        vals = [v for v in vals if v <= hi]
    return vals


def _enumerate(sc: Scenario, cons: dict) -> np.ndarray:
    """Every consistent plan (rows of tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, rc, sp)."""
    spec = sc.model_spec
    hw, tr = sc.hardware, sc.training
    W = hw.world_size
    rows = []
    zeros = _allowed("zero", range(4), cons)
    fsdps = _allowed("fsdp", (0, 1), cons)
    # FSDP is enumerated as (zero=3, fsdp=True): full sharding, priced like ZeRO-3
    shard_opts = [(z, 0) for z in zeros if 0 in fsdps] + ([(3, 1)] if 1 in fsdps and 3 in zeros else [])
    rcs = _allowed("recompute", (0, 1, 2), cons)
    tail = np.array([(z, f, r) for z, f in shard_opts for r in rcs], dtype=np.int64).reshape(-1, 3)
    tps = _allowed("tp", [d for d in _divisors(W) if d <= hw.scaleup_domain and spec.heads % d == 0], cons)
    for tp in tps:
        for pp in _allowed("pp", [d for d in _divisors(W // tp) if spec.layers % d == 0], cons):
            rem = W // (tp * pp)
            for cp in _allowed("cp", [d for d in _divisors(rem) if tr.seq_len % d == 0], cons):
                dp = rem // cp
                if not _allowed("dp", [dp], cons) or tr.global_batch % dp:
                    continue
                eps = [1] if not spec.experts else [d for d in _divisors(spec.experts) if (dp * cp) % d == 0]
                vps = [1] if pp == 1 else _divisors(spec.layers // pp)
                mbss = _divisors(tr.global_batch // dp)
                sps = [0] if tp == 1 else [0, 1]
                for ep, vp, mbs, spf in itertools.product(_allowed("ep", eps, cons), _allowed("vp", vps, cons),
                                                          _allowed("micro_batch", mbss, cons),
                                                          _allowed("sequence_parallel", sps, cons)):
                    rows.append((tp, pp, vp, cp, ep, dp, mbs, spf))
    if not rows or tail.size == 0:
        return np.zeros((0, 11), dtype=np.int64)
    head = np.array(rows, dtype=np.int64)
    n_h, n_t = head.shape[0], tail.shape[0]
    H = np.repeat(head, n_t, axis=0)
    T = np.tile(tail, (n_h, 1))
    # columns: tp pp vp cp ep dp mbs zero fsdp rc sp
    return np.column_stack([H[:, :7], T, H[:, 7]])


def plan_space_size(scenario: Scenario | dict, **constraints) -> int:
    """Number of consistent plans :func:`search` would evaluate."""
    sc = Scenario.from_dict(scenario)
    _check_constraints(constraints)
    return int(_enumerate(sc, constraints).shape[0])


def _check_constraints(cons: dict) -> None:
    for k in cons:
        if k not in SEARCH_CONSTRAINTS:
            raise unknown("search constraint", k, SEARCH_CONSTRAINTS)


def _prepare(sc: Scenario, cons: dict, stack, params):
    plans11 = _enumerate(sc, cons)
    if plans11.shape[0] == 0:
        raise ValidationError(f"search: no consistent plan satisfies the constraints {cons!r}")
    tps = tuple(sorted(set(plans11[:, 0].tolist())))
    mbss = tuple(sorted(set(plans11[:, 6].tolist())))
    cps = tuple(sorted(set(plans11[:, 3].tolist())))
    ctx = _context(sc, tps, mbss, cps, stack, params)
    idx = lambda vals, col: np.searchsorted(np.array(vals), plans11[:, col])  # noqa: E731
    plans = np.column_stack([plans11, idx(tps, 0), idx(mbss, 6), idx(cps, 3)]).astype(np.int64)
    return np.ascontiguousarray(plans), ctx


def search(scenario: Scenario | dict, objective: str = "tokens_per_s", top: int | None = 10,
           feasible_only: bool = True, *, stack: str | None = None,
           params: dict[str, float] | None = None, **constraints) -> pl.DataFrame:
    """Every consistent parallel plan for the scenario's model and cluster, best first.

    Enumerates tp (divisors of the world ≤ the scale-up domain, dividing the heads), pp
    (dividing the layers), vp (dividing layers/pp), cp (dividing seq_len), ep (dividing the
    experts and dp·cp), dp (derived), micro-batch (dividing global_batch/dp), ZeRO 0–3 and
    FSDP, recompute none/selective/full and sequence parallel (tp > 1); evaluates them all
    with the numba kernel (parallel over plans); drops plans that do not fit (when
    ``feasible_only``) and sorts by ``objective``.

    Parameters
    ----------
    scenario : Scenario or dict (its model, hardware and training tables are used; its
        parallelism table is ignored)
    objective : "tokens_per_s" | "mfu" | "tflops_per_gpu" (larger first) or "step_time_s" |
        "memory_per_gpu_bytes" (smaller first)
    top : rows to return (None: all)
    feasible_only : keep only plans that fit in memory
    stack, params : as in :func:`estimate`
    **constraints : see :data:`SEARCH_CONSTRAINTS`, e.g. ``tp=1``, ``max_tp=8``, ``zero=1``,
        ``recompute=["none", "selective"]``. Defaults: max_micro_batch 16, max_vp 8, max_cp 16.

    Returns
    -------
    polars.DataFrame
        tp, pp, vp, cp, ep, dp, micro_batch, zero, fsdp, recompute, sequence_parallel,
        step_time_s, tokens_per_s, mfu, tflops_per_gpu, memory_per_gpu_bytes, fits, and the
        breakdown components [s]. With ``top=None, feasible_only=False`` one row per plan
        evaluated.

    Examples
    --------
    >>> import infra_lab as il
    >>> best = il.search(il.load_scenario("zaya1-ibm-mi300x"), top=3, max_micro_batch=4)
    >>> best.height, bool(best["fits"].all())
    (3, True)
    """
    sc = Scenario.from_dict(scenario)
    if objective not in OBJECTIVES:
        raise unknown("objective", objective, OBJECTIVES)
    _check_constraints(constraints)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValidationError(f"top = {top!r}: expected a positive integer or None")
    plans, ctx = _prepare(sc, constraints, stack, params)
    out = np.empty((plans.shape[0], kt.N_OUT))
    kt.evaluate_plans(ctx.c, ctx.tab, plans, out)
    return _frame(plans, out, ctx, objective, top, feasible_only)


def _frame(plans, out, ctx, objective, top, feasible_only) -> pl.DataFrame:
    step = out[:, kt.N_COMPONENTS]
    cols: dict[str, Any] = {k: plans[:, i] for i, k in enumerate(_PLAN_KEYS)}
    cols["fsdp"] = plans[:, 8].astype(bool)
    cols["sequence_parallel"] = plans[:, 10].astype(bool)
    df = pl.DataFrame(cols).with_columns(
        pl.col("recompute").replace_strict(_RC_NAMES, return_dtype=pl.String))
    tok = ctx.tokens_per_step / step
    df = df.with_columns(
        pl.Series("step_time_s", step), pl.Series("tokens_per_s", tok),
        pl.Series("mfu", ctx.model_flops_per_step / (step * ctx.world * ctx.peak_bf16)),
        pl.Series("tflops_per_gpu", ctx.model_flops_per_step / (step * ctx.world) / 1e12),
        pl.Series("memory_per_gpu_bytes", out[:, kt.N_COMPONENTS + 1]),
        pl.Series("fits", out[:, kt.N_COMPONENTS + 2] > 0.5),
        *[pl.Series(name, out[:, j]) for j, name in enumerate(COMPONENTS)],
    )
    if feasible_only:
        df = df.filter(pl.col("fits"))
    df = df.sort(objective, descending=OBJECTIVES[objective], maintain_order=True)
    if top is not None:
        df = df.head(top)
    return df
