"""Fused (flash) attention: per-kernel, per-pass efficiency with causal masking by tiles.

A flash-attention kernel gives each workgroup one query block of ``B`` rows (the backward
kernel: one key/value block) and walks the key/value blocks it can see. A block pair costs
``2·B²·(d_qk + d_v)`` FLOP in the forward pass (S = QKᵀ and O = PV); each workgroup also pays a
fixed cost worth ``c`` block iterations (loading Q, the softmax epilogue, writing O). So::

    it_j      = key blocks visible to query block j     (all nk without a mask; j+1 causal;
                                                          at most ceil(window/B)+1 with a window)
    makespan  = ceil(CTAs / CUs) · (nk + c)             (no mask: equal workgroups, in waves)
              = max(Σ_j (it_j + c) · heads / CUs, max_j it_j + c)   (causal: unequal ones)
    time      = makespan · CUs · 2B²(d_qk + d_v) · F / (peak · e) + kernels · fixed
    F         = 1 forward, 2.5 backward (5 GEMM-like products against 2, recomputing S)

``e`` (the kernel's efficiency at long sequences) and ``c`` are fitted per device, kernel
and pass to published sweeps (data/compute_measurements.csv, train split; the rest is the
test split). The diagonal blocks of a causal mask are computed whole, so causal attention
executes more than half of full attention's FLOPs and its efficiency (useful FLOP, counted as
half of full) is lower, most at short sequences. Its time is more than half of full
attention's except where the unmasked kernel's last wave of workgroups is mostly empty: the
causal makespan is the balanced-schedule bound, which pays no such wave (APPROXIMATE: a real
block scheduler lands between that bound and it; H100 FA2/FA3 at 16k-32k tokens come out
at 49.5-49.8 % of full). The backward pass is constrained to be no more
efficient than the forward pass (``e_bwd ≤ e_fwd``, ``c_bwd ≥ c_fwd``, three kernels
against one).

Not modelled: FP8 attention, GQA-specific backward kernels (AITER's GQA backward is far
slower than its MHA backward in the HipKittens data), head dims other than the sweeps'
128 beyond the FLOP count.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from .. import catalog
from .._validate import keyword_names, keywords
from ..errors import ValidationError, unknown
from . import _params as P

__all__ = ["attention_time", "attention_efficiency", "attention_params", "attention_kernels",
           "default_attention_kernel", "attention_cost", "PASSES"]

PASSES = ("fwd", "bwd")
_F = {"fwd": 1.0, "bwd": 2.5}


def attention_kernels(accelerator: str) -> list[str]:
    """Attention kernels with parameters for ``accelerator`` (own rows, vendor and ``*``)."""
    acc = P.accelerator(accelerator)
    return list(_kernels_cached(acc.name, acc.vendor))


@cache
def _kernels_cached(acc_name: str, vendor: str) -> tuple[str, ...]:
    # every attention_cost call checks its kernel name here: filter the (cached) table once
    t = P.compute_params()
    names = set()
    for who in (acc_name, f"default-{vendor}", "*"):
        sub = t.filter((t["accelerator"] == who) & (t["parameter"] == "attn_eff_fwd"))
        names |= {str(v).lower() for v in sub["variant"].to_list() if v}
    return tuple(sorted(names))


def default_attention_kernel(accelerator: str) -> str:
    """The attention kernel a training stack on ``accelerator`` uses by default."""
    return P.text(P.accelerator(accelerator), "attention_kernel").lower()


@cache
def _params_cached(acc_name: str, kernel: str, pass_: str, which: str) -> tuple[float, float, int, int]:
    acc = catalog.accelerator(acc_name)
    e = P.value(acc, f"attn_eff_{pass_}", kernel, which=which)
    c = P.value(acc, f"attn_overhead_{pass_}", kernel)
    block = int(P.value(acc, "attn_block"))
    kernels = int(P.value(acc, f"attn_kernels_{pass_}"))
    return e, c, block, kernels


def attention_params(accelerator: str, kernel: str | None = None, pass_: str = "fwd", *,
                     which: str = "value") -> dict[str, float]:
    """Fitted parameters of one kernel and pass: ``efficiency`` e [-], ``overhead_blocks`` c
    [block iterations per workgroup], ``block`` B [rows], ``kernels`` per call [-]."""
    _, _, (e, c, b, n) = _params(accelerator, kernel, pass_, which)
    return {"efficiency": e, "overhead_blocks": c, "block": b, "kernels": n}


def _params(accelerator, kernel, pass_, which):
    """(accelerator, pass, (e, c, block, kernels)) of one kernel and pass, the arguments checked:
    what :func:`attention_params` returns and :func:`attention_time` prices with."""
    acc = P.accelerator(accelerator)
    k = _kernel(acc, kernel)
    p = _pass(pass_)
    if not isinstance(which, str) or which not in ("value", "low", "high"):
        raise ValidationError(f"which = {which!r}: allowed 'value', 'low', 'high'")
    return acc, p, _params_cached(acc.name, k, p, which)


def _kernel(acc: catalog.Accelerator, kernel: str | None) -> str:
    if kernel is None:
        return default_attention_kernel(acc.name)
    if not isinstance(kernel, str):
        raise ValidationError(f"attention kernel = {kernel!r}: expected a name such as 'fa3'")
    k = kernel.strip().lower()
    have = attention_kernels(acc.name)
    if k not in have:
        raise unknown(f"attention kernel for {acc.name}", kernel, have)
    return k


def _pass(p) -> str:
    if not isinstance(p, str) or p not in PASSES:
        raise unknown("pass", p, PASSES)
    return p


def _sum_min(a: float, b: float, w: float) -> float:
    """Σ_{x=a..b} min(x, w) for integers a ≤ b (w = inf: no cap)."""
    if b < a:
        return 0.0
    if w >= b:
        return (a + b) * (b - a + 1) / 2.0
    if w < a:
        return (b - a + 1) * w
    return (a + w) * (w - a + 1) / 2.0 + (b - w) * w


def attention_cost(seq_len: int, head_dim: int, batch_heads: float, accelerator: str,
                   pass_: str = "fwd", causal: bool = True, *, kernel: str | None = None,
                   kv_seq_len: int | None = None, head_dim_v: int | None = None,
                   window: int = 0, which: str = "value") -> dict[str, float]:
    """Time and work of one fused-attention call.

    Parameters
    ----------
    seq_len : query tokens per sequence s_q [tokens]
    head_dim : query/key head dim d_qk [elements]; head_dim_v : value head dim (None: d_qk)
    batch_heads : sequences × query heads on this rank [-] (may be fractional for a share)
    accelerator : catalog name; pass_ : "fwd" | "bwd"
    causal : causal mask (queries are the last s_q of kv_seq_len keys)
    kernel : attention kernel (None: the device default, see :func:`attention_kernels`)
    kv_seq_len : key/value tokens (None: s_q); window : sliding window [tokens] (0: none)
    which : "value" | "low" | "high": the kernel efficiency's central value or range end

    Returns
    -------
    dict: time_s [s], flops (useful FLOP, causal counted over visible keys, backward 2.5×
    forward) [FLOP], executed_flops (whole blocks) [FLOP], bytes [bytes], efficiency
    (flops / (time · peak)) [-]
    """
    # bounds as compute.layer_ops': sequences up to 2^24 tokens, heads up to 2^16 wide
    sq = P.check_number("seq_len", seq_len, lo=1, hi=2**24, integer=True)
    dqk = P.check_number("head_dim", head_dim, lo=1, hi=2**16, integer=True)
    dv = dqk if head_dim_v is None else P.check_number("head_dim_v", head_dim_v, lo=1, hi=2**16, integer=True)
    bh = P.check_number("batch_heads", batch_heads, lo=0.0, lo_open=True, hi=2.0**40)
    skv = sq if kv_seq_len is None else P.check_number("kv_seq_len", kv_seq_len, lo=1, hi=2**24, integer=True)
    if skv < sq:
        raise ValidationError(f"kv_seq_len = {skv}: must be >= seq_len = {sq}")
    win = P.check_number("window", window, lo=0, integer=True)
    if not isinstance(causal, bool):
        raise ValidationError(f"causal = {causal!r}: expected True or False")
    acc, p, (e, c, B, nkern) = _params(accelerator, kernel, pass_, which)
    return _core(acc, sq, skv, dqk, dv, bh, p, causal, win, e, c, B, nkern)


def _core(acc, sq, skv, dqk, dv, bh, p, causal, win, e, c, B, nkern) -> dict[str, float]:
    peak = acc.peak("bf16")
    cus = acc.compute_units
    nq, nk = math.ceil(sq / B), math.ceil(skv / B)
    wb = math.ceil(win / B) + 1 if win else math.inf
    off_tok, off_blk = skv - sq, nk - nq
    if causal:
        it_sum = _sum_min(off_blk + 1, off_blk + nq, wb)
        it_max = min(off_blk + nq, wb)
        useful_keys = _sum_min(off_tok + 1, off_tok + sq, win if win else math.inf)
    else:
        per = min(nk, wb)
        it_sum, it_max = nq * per, per
        useful_keys = sq * min(skv, win if win else skv)
    ctas = bh * nq
    units = bh * (it_sum + nq * c)
    if not causal:
        makespan = math.ceil(ctas / cus - 1e-9) * (it_max + c)
    else:
        makespan = max(units / cus, it_max + c)
    f_unit = 2.0 * B * B * (dqk + dv)
    F = _F[p]
    t_compute = makespan * cus * f_unit * F / (peak * e)
    flops = 2.0 * (dqk + dv) * bh * useful_keys * F
    executed = f_unit * bh * it_sum * F
    # Q, K, V read and O written once per call forward; backward ~3x (Q, K, V, O, dO read,
    # dQ in fp32, dK, dV written)
    act = P.value(acc, "activation_bytes")
    byts = act * bh * (sq * dqk + skv * (dqk + dv) + sq * dv) * (3.0 if p == "bwd" else 1.0)
    mem_bw = acc.hbm_bw_Bps * P.value(acc, "hbm_efficiency")
    t = max(t_compute, byts / mem_bw) + nkern * P.value(acc, "kernel_fixed_s")
    return {"time_s": t, "flops": flops, "executed_flops": executed, "bytes": byts,
            "efficiency": flops / (t * peak)}


def attention_time(seq_len: int, head_dim: int, batch_heads: float, accelerator: str,
                   pass_: str = "fwd", causal: bool = True, **kw: Any) -> float:
    """Time of one fused-attention call [s]; see :func:`attention_cost`.

    Examples
    --------
    >>> import infra_lab as il
    >>> f = il.compute.attention_time(4096, 128, 32, "H100", "fwd", causal=False, kernel="fa3")
    >>> b = il.compute.attention_time(4096, 128, 32, "H100", "bwd", causal=False, kernel="fa3")
    >>> bool(b > 2.5 * f)      # backward: 2.5x the FLOPs at a lower efficiency
    True
    """
    kw = keywords("attention_time", kw, _COST_KEYWORDS)
    return attention_cost(seq_len, head_dim, batch_heads, accelerator, pass_, causal, **kw)["time_s"]


def attention_efficiency(seq_len: int, head_dim: int, batch_heads: float, accelerator: str,
                         pass_: str = "fwd", causal: bool = True, **kw: Any) -> float:
    """Achieved fraction of the BF16 peak on useful attention FLOPs [-]; see
    :func:`attention_cost`."""
    kw = keywords("attention_efficiency", kw, _COST_KEYWORDS)
    return attention_cost(seq_len, head_dim, batch_heads, accelerator, pass_, causal, **kw)["efficiency"]


_COST_KEYWORDS = keyword_names(attention_cost)
"""The keyword-only arguments of :func:`attention_cost` that its wrappers pass on."""
