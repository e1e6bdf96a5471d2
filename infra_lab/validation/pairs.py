"""Stack factors derived from one published pair of runs that differ in one setting: async
tensor parallelism (``tp_async_derivation``, ``TP_ASYNC_PAIR``), torch.compile
(``eager_derivation``, ``EAGER_PAIR``) and the FSDP group's size (``zero3_overlap_derivation``,
``ZERO3_OVERLAP_PAIR``)."""

from __future__ import annotations

from ..errors import ValidationError, unknown
from .runs import current_runs, scenario_for_run

TP_ASYNC_PAIR = ("TT24-70B-256-2d", "TT24-70B-256-2d-asynctp")
"""The train-split pair that gives torchtitan's ``tp_async_comm_overlap``: Llama 3.1 70B on 256
H100 (FSDP 32, TP 8, torch.compile, Float8, full recompute) without and with async TP, the same
configuration and commits in torchtitan's December 2024 benchmark (Table 4: 829 and 876
tokens/s/GPU, https://github.com/pytorch/torchtitan/blob/main/benchmarks/llama3_h100_202412_torchtitan.md)."""


def _run_pair(pair, expected: str):
    """(scenario of the first run, scenario of the second, measured speed-up = second's
    throughput / first's) of a pair of current-run ids."""
    if (not isinstance(pair, tuple) or len(pair) != 2 or not all(isinstance(x, str) for x in pair)):
        raise ValidationError(f"pair = {pair!r}: expected {expected}")
    runs = {r["id"]: r for r in current_runs().iter_rows(named=True)}
    for rid in pair:
        if rid not in runs:
            raise unknown("run id", rid, sorted(runs))
    (a, _), (b, _) = (scenario_for_run(runs[rid]) for rid in pair)
    return a, b, float(runs[pair[1]]["value"]) / float(runs[pair[0]]["value"])


def tp_async_derivation(pair: tuple[str, str] = TP_ASYNC_PAIR) -> dict[str, float]:
    """Share of the tensor-parallel collective time that async TP hides [-], from the measured
    speed-up of one published pair of runs that differ only in async TP (default
    :data:`TP_ASYNC_PAIR`, train split): the overlap f at which the model's step time without
    and with it (the stack's fitted factors; only ``tp_comm_overlap`` differs, 0 → f) has the
    measured ratio. The ratio removes the family's time scales to first order. Any other
    difference async TP makes (its decomposed GEMMs run smaller) is folded into f.
    Returns {"measured_speedup", "model_speedup_at_full_overlap", "tp_async_comm_overlap"}."""
    from ..training import estimate

    sv, sa, measured = _run_pair(pair, "(vanilla TP run id, async TP run id)")
    if sv.parallelism.tp_async or not sa.parallelism.tp_async or sv.replace(name=sa.name, parallelism={"tp_async": True}) != sa:
        raise ValidationError(f"pair = {pair!r}: the runs must differ only in async TP (first without, second with)")
    t0 = estimate(sv, params={"tp_comm_overlap": 0.0}).step_time_s

    def speedup(f: float) -> float:
        return t0 / estimate(sv, params={"tp_comm_overlap": f}).step_time_s

    full = speedup(1.0)
    if not 1.0 <= measured <= full:
        raise ValidationError(f"pair = {pair!r}: measured speed-up {measured:.4f} outside what hiding the "
                              f"TP collectives can give (1 .. {full:.4f})")
    return {"measured_speedup": measured, "model_speedup_at_full_overlap": full,
            "tp_async_comm_overlap": _ratio_solve(speedup, measured, 0.0, 1.0)}


EAGER_PAIR = ("TT24-8B-8-fsdp", "TT24-8B-8-fsdp-compile")
"""The train-split pair that gives torchtitan's ``eager_memory_factor``: Llama 3.1 8B on 8 H100
with FSDP, local batch 2, selective recomputation, without and with torch.compile (torchtitan's
December 2024 benchmark, Table 1: 5,762 and 6,667 tokens/s/GPU)."""


def _ratio_solve(speedup, measured: float, lo: float, hi: float) -> float:
    """x in [lo, hi] with speedup(x) = measured, by regula falsi on 1/speedup (linear in x while
    no term of the step is clamped, so it converges in a step or two)."""
    target = 1.0 / measured
    (a, ga), (b, gb) = (lo, 1.0 / speedup(lo) - target), (hi, 1.0 / speedup(hi) - target)
    x = lo
    for _ in range(12):
        x = a - ga * (b - a) / (gb - ga) if gb != ga else 0.5 * (a + b)
        g = 1.0 / speedup(x) - target
        if abs(g) < 1e-7:
            break
        (a, ga), (b, gb) = ((x, g), (b, gb)) if g * ga > 0 else ((a, ga), (x, g))
    return x


def eager_derivation(pair: tuple[str, str] = EAGER_PAIR) -> dict[str, float]:
    """Factor on the memory-bound op time of a run in PyTorch eager mode [-], from one published
    pair of runs that differ only in torch.compile (default :data:`EAGER_PAIR`, train split): the
    ``eager_memory_factor`` at which the model's step time in eager mode over its step time
    compiled (the stack's fitted factors) equals the measured ratio. Everything compile changes
    besides the element-wise ops (fewer kernel launches, fused casts) is folded into the factor.
    Returns {"measured_speedup", "eager_memory_factor"}."""
    from ..training import estimate

    se, sc, measured = _run_pair(pair, "(eager run id, compiled run id)")
    if not se.training.eager or sc.training.eager or se.replace(name=sc.name, training={"eager": False}) != sc:
        raise ValidationError(f"pair = {pair!r}: the runs must differ only in torch.compile (first eager, second compiled)")
    t_compiled = estimate(sc).step_time_s

    def speedup(g: float) -> float:
        return estimate(se, params={"eager_memory_factor": g}).step_time_s / t_compiled

    hi = 10.0
    if not speedup(1.0) <= measured <= speedup(hi):
        raise ValidationError(f"pair = {pair!r}: measured speed-up {measured:.4f} outside what slower element-wise "
                              f"ops can give ({speedup(1.0):.4f} .. {speedup(hi):.4f})")
    return {"measured_speedup": measured, "eager_memory_factor": _ratio_solve(speedup, measured, 1.0, hi)}


ZERO3_OVERLAP_PAIR = ("TT24-8B-8-fsdp-compile", "TT24-8B-128-fsdp-compile")
"""The train-split pair that gives torchtitan's ``zero3_comm_overlap``: Llama 3.1 8B with FSDP2 over
8 and over 128 H100 (one node and 16 nodes), local batch 2, selective recomputation,
torch.compile, the same commits (torchtitan's December 2024 benchmark, Table 1: 6,667 and 6,514
tokens/s/GPU, https://github.com/pytorch/torchtitan/blob/main/benchmarks/llama3_h100_202412_torchtitan.md).
Only the FSDP group's size differs, so the ratio measures how much of the larger all-gathers and
reduce-scatters (across the nodes' NICs) stays exposed."""


def zero3_overlap_derivation(pair: tuple[str, str] = ZERO3_OVERLAP_PAIR) -> dict[str, float]:
    """Share of the FSDP (ZeRO-3) all-gather / reduce-scatter time hidden under compute [-], from one
    published pair of runs that differ only in the size of the FSDP group (default
    :data:`ZERO3_OVERLAP_PAIR`, train split, weak scaling: same per-GPU batch): the
    ``zero3_comm_overlap`` f at which the model's tokens/s/GPU of the larger run over the smaller
    (the stack's fitted factors, the same f for both) equals the measured ratio. Whatever else
    slows the larger run (NCCL's inter-node algorithms, compute slowed by the concurrent
    collectives' SMs) is folded into f; measured concurrent compute/communication on GPUs hides far
    less than all of the shorter side (https://arxiv.org/abs/2412.14335: on average 21 % of the
    ideal overlap speed-up; https://arxiv.org/abs/2507.03114: compute 18.9 % slower on average
    while collectives run beside it). Returns {"measured_ratio", "model_ratio_at_full_overlap",
    "model_ratio_at_no_overlap", "zero3_comm_overlap"}."""
    from ..training import estimate

    sa, sb, measured = _run_pair(pair, "(smaller FSDP run id, larger FSDP run id)")
    pa, pb = sa.parallelism, sb.parallelism
    same = sa.replace(name=sb.name, hardware={"nodes": sb.hardware.nodes},
                      training={"global_batch": sb.training.global_batch}) == sb   # dp follows the GPUs
    if (not same or not (pa.fsdp and pb.fsdp) or pb.dp <= pa.dp
            or sa.training.global_batch * pb.dp != sb.training.global_batch * pa.dp):
        raise ValidationError(f"pair = {pair!r}: the runs must differ only in the FSDP group's size at the same "
                              "per-GPU batch (first the smaller)")

    def ratio(f: float) -> float:
        p = {"zero3_comm_overlap": f}
        return estimate(sb, params=p).tokens_per_s_per_gpu / estimate(sa, params=p).tokens_per_s_per_gpu

    full, none = ratio(1.0), ratio(0.0)
    if not none <= measured <= full:
        raise ValidationError(f"pair = {pair!r}: measured ratio {measured:.4f} outside what hiding the FSDP "
                              f"collectives can give ({none:.4f} .. {full:.4f})")
    return {"measured_ratio": measured, "model_ratio_at_full_overlap": full, "model_ratio_at_no_overlap": none,
            "zero3_comm_overlap": _ratio_solve(ratio, measured, 0.0, 1.0)}
