"""The [parallelism] table: :class:`ParallelismConfig` (the per-field checks, the world-size
rules and the derived dp), with :data:`MOE_DISPATCHERS`, :data:`CP_ROTATE_METHODS`,
:data:`FSDP_IMPLS` and :data:`PP_SCHEDULES`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnknownNameError, ValidationError
from ._checks import _bool, _check_keys, _enum, _int, _py, _zero_stage

MOE_DISPATCHERS = ("alltoall", "deepep")


CP_ROTATE_METHODS = ("p2p", "allgather", "allgather-exposed")
"""Context-parallel K/V exchanges (``parallelism.cp_rotate``): a per-step P2P ring, one
all-gather per pass hidden behind the first ring step (PyTorch's experimental
context_parallel, rotate method "allgather"), or one exposed all-gather of K/V per pass
with one attention call over the gathered K/V and a reduce-scatter of dK/dV (Llama 3's CP,
§3.3.2)."""

PP_SCHEDULES = ("1f1b", "interleaved", "zb-h1", "zbv", "v-half", "v-min")
"""Pipeline schedules (``parallelism.pp_schedule``; left out: "1f1b" with vp = 1, "interleaved"
with vp > 1, Megatron-Core's choice by vp). The zero-bubble family splits the backward into
the input gradient (B) and the weight gradient (W) and moves W into the bubble: "zb-h1" (Qi et
al., "Zero Bubble Pipeline Parallelism", ICLR 2024, https://arxiv.org/abs/2401.10241; one chunk
per rank, vp = 1, 1F1B's memory; Primus' ``zero-bubble``), "zbv" (ZB-V, two chunks per rank in
a V, vp = 2, 1F1B's memory; Primus' ``zbv-formatted``), "v-half" and "v-min" (Qi et al.,
"Pipeline Parallelism with Controllable Memory", NeurIPS 2024, https://arxiv.org/abs/2405.15362:
V-shaped, vp = 2, about 1/2 and 1/3 of 1F1B's activation memory). Their bubble:
:func:`infra_lab._kernels.training.pipeline_bubble_stages` (closed forms for 1F1B and interleaved with each
rank's own times) and :func:`infra_lab._kernels.training.executed_rank_bubble` (ZB-H1 and ZBV: Primus'
hand-written tables; V-Half and V-Min: the greedy schedule Primus and the paper's repository build; each
order executed with each rank's F, B, W, in a V each chunk's own, :mod:`infra_lab._kernels.pipeline_greedy`); in-flight micro-batches:
:func:`infra_lab.memory.inflight_microbatches`. ``il.search`` explores 1F1B / interleaved by vp,
and with ``pp_schedules=`` the schedules a stack implements
(:func:`infra_lab.training.stack_pp_schedules`)."""

PP_SCHEDULE_VP = {"1f1b": 1, "zb-h1": 1, "zbv": 2, "v-half": 2, "v-min": 2}
"""Chunks per pipeline rank (parallelism.vp) each schedule runs; "interleaved" takes any vp > 1."""

FSDP_IMPLS = ("torch", "megatron")
"""Implementations of ``parallelism.fsdp``: PyTorch's FSDP2 (``fully_shard``: torchtitan,
Megatron's ``--use-torch-fsdp2``), which reduce-scatters the autograd gradients itself, or
Megatron-FSDP (Megatron-Core's custom FSDP, ``--use-megatron-fsdp`` / ``--use-custom-fsdp``),
which keeps an fp32 main-grad buffer: without gradient-accumulation fusion its post-backward
hook copies each 16-bit gradient into it (:func:`infra_lab.compute.layer_ops`
``main_grad_hook="copy"``)."""


@dataclass(frozen=True)
class ParallelismConfig:
    """The [parallelism] table. dp is derived: world / (tp·pp·cp).

    ``ep`` (expert parallel) and ``etp`` (expert tensor parallel, default 1) lay the MoE
    layers out over the same tp·cp·dp ranks as the attention layers (Megatron-Core's MoE
    parallel folding): ep·etp must divide tp·cp·dp; the expert data-parallel size is
    tp·cp·dp/(ep·etp).

    ``moe_dispatcher`` ("alltoall": one NCCL/RCCL all-to-all of every routed copy, Megatron-Core's
    default; "deepep": DeepEP / Megatron's flex dispatcher / HybridEP, each token sent once per
    destination node then fanned out over the scale-up fabric once per destination rank, and
    permuted once each way) and ``ep_overlap`` (the dispatch
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

    ``fsdp_impl`` (:data:`FSDP_IMPLS`, only read with ``fsdp``): "torch" (default; PyTorch's
    FSDP2, which reduce-scatters the autograd gradients itself, no main-grad buffer) or
    "megatron" (Megatron-FSDP, Megatron-Core's custom FSDP: an fp32 main-grad buffer, into which
    ``training.gradient_accumulation_fusion = false`` copies each 16-bit weight gradient in the
    post-backward hook, one copy per parameter tensor). A library choice of the run, not
    searched. With pp > 1 they also shard differently: FSDP2 under PyTorch pipelining keeps each
    stage's parameters gathered and its gradients unsharded until the last micro-batch (ZeRO-1
    memory), Megatron-FSDP reshards every micro-batch (ZeRO-3 memory, per-micro-batch gathers
    and reduce-scatters; :func:`infra_lab.memory.training._state_sharding` cites both).

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
    fsdp_impl: str = "torch"
    pp_schedule: str | None = None   # None: "1f1b" (vp = 1) or "interleaved" (vp > 1)
    dp: int = field(default=1, compare=False)
    # True when dp is the value from_dict derived for a world (kept by dataclasses.replace, so a
    # plan taken from a scenario re-derives its dp elsewhere); False: a dp built directly, which
    # from_dict checks against the derived one as the dict form's "dp"
    _dp_derived: bool = field(default=False, compare=False, repr=False)

    KEYS = ("tp", "pp", "vp", "cp", "ep", "zero", "sequence_parallel", "fsdp", "etp", "moe_dispatcher",
            "ep_overlap", "tp_async", "dualpipe", "cp_rotate", "cp_repeat_kv", "fsdp_impl", "pp_schedule")

    @property
    def schedule(self) -> str:
        """The pipeline schedule the plan runs (:data:`PP_SCHEDULES`): ``pp_schedule``, or
        "1f1b" / "interleaved" by vp when it is left out."""
        if self.pp_schedule is not None:
            return self.pp_schedule
        return "interleaved" if self.vp > 1 else "1f1b"

    def __post_init__(self) -> None:
        # built directly or from a dict: the same per-field checks (the world-size rules and
        # the derived dp are :meth:`from_dict`'s, which knows the world)
        put = object.__setattr__
        for k in ("tp", "pp", "vp", "cp", "ep", "etp", "dp"):
            put(self, k, _int(f"parallelism.{k}", getattr(self, k)))
        # each flag stored as the Python bool it holds (an np.bool_ from a frame would not write
        # to TOML or JSON)
        for k in ("sequence_parallel", "fsdp", "ep_overlap", "tp_async", "dualpipe", "cp_repeat_kv"):
            put(self, k, _bool(f"parallelism.{k}", getattr(self, k)))
        sp, fsdp = self.sequence_parallel, self.fsdp
        zero = _py(self.zero)
        if zero is None:          # left out: ZeRO-1, or full sharding (ZeRO-3) with FSDP
            zero = 3 if fsdp else 1
        zero = _zero_stage("parallelism.zero", zero)
        put(self, "zero", zero)
        if fsdp and zero != 3:
            raise ValidationError(
                f"parallelism.fsdp = true with parallelism.zero = {zero}: FSDP shards parameters, gradients "
                "and optimizer state (ZeRO-3); allowed zero = 3 with fsdp (or leave zero out)")
        put(self, "moe_dispatcher", _enum("parallelism.moe_dispatcher", self.moe_dispatcher, MOE_DISPATCHERS))
        put(self, "cp_rotate", _enum("parallelism.cp_rotate", self.cp_rotate, CP_ROTATE_METHODS))
        put(self, "fsdp_impl", _enum("parallelism.fsdp_impl", self.fsdp_impl, FSDP_IMPLS))
        if self.dualpipe and not self.ep_overlap:
            raise ValidationError("parallelism.dualpipe = true with parallelism.ep_overlap = false: DualPipe "
                                  "overlaps the dispatch and combine by construction; allowed ep_overlap = true with it")
        if self.tp_async and self.tp == 1:
            raise ValidationError("parallelism.tp_async = true: async tensor parallelism needs tp > 1 (tp = 1)")
        sched = _py(self.pp_schedule)
        if sched is not None:
            try:
                sched = _enum("parallelism.pp_schedule", sched, PP_SCHEDULES)
            except UnknownNameError as e:      # a library's own name (Primus' zero-bubble, ...): say ours
                from ..training.plan_search import pp_schedule_alias

                alias = pp_schedule_alias(sched)
                if alias is None:
                    raise
                raise UnknownNameError(f"{e} ({sched!r} is the library's name: infra_lab calls it {alias})") from None
            put(self, "pp_schedule", sched)
            if sched != "1f1b" and self.pp == 1:
                raise ValidationError(f"parallelism.pp_schedule = {sched!r}: a pipeline schedule needs pp > 1 "
                                      f"(pp = 1); allowed with pp = 1: '1f1b' (or leave it out)")
            if sched == "interleaved" and self.vp < 2:
                raise ValidationError("parallelism.pp_schedule = 'interleaved' with parallelism.vp = 1: the "
                                      "interleaved schedule runs vp > 1 chunks per rank; set vp >= 2")
            need = PP_SCHEDULE_VP.get(sched)
            if need is not None and self.vp != need:
                what = ("two chunks per rank in a V shape" if need == 2 else "one chunk per rank")
                raise ValidationError(f"parallelism.pp_schedule = {sched!r} with parallelism.vp = {self.vp}: "
                                      f"{sched} runs {what}; allowed vp = {need} with it")
        # after the schedule's checks, which name the schedule (pp_schedule = "zbv" with pp = 1)
        if self.vp > 1 and self.pp == 1:
            raise ValidationError(f"parallelism.vp = {self.vp}: interleaving needs pp > 1 (pp = 1)")
        if sp and self.tp == 1:
            raise ValidationError("parallelism.sequence_parallel = true: needs tp > 1 (tp = 1)")

    @classmethod
    def from_dict(cls, d: dict, world: int) -> ParallelismConfig:
        if isinstance(d, ParallelismConfig):
            d = d.given_table()
        given_dp = None
        if isinstance(d, dict) and "dp" in d:      # dp is derived; a value given must be that one
            d = dict(d)
            given_dp = _int("parallelism.dp", d.pop("dp"))
        _check_keys("parallelism", d, cls.KEYS)
        base = cls(**d)                            # per-field checks (__post_init__)
        v = {k: getattr(base, k) for k in ("tp", "pp", "vp", "cp", "ep", "etp")}
        zero, sp, fsdp = base.zero, base.sequence_parallel, base.fsdp
        disp, epo, tpa, dpp = base.moe_dispatcher, base.ep_overlap, base.tp_async, base.dualpipe
        cpr, cpk, fimpl, pps = base.cp_rotate, base.cp_repeat_kv, base.fsdp_impl, base.pp_schedule
        mp = v["tp"] * v["pp"] * v["cp"]
        if world % mp:
            raise ValidationError(
                f"parallelism: tp·pp·cp = {v['tp']}·{v['pp']}·{v['cp']} = {mp} does not divide the "
                f"world size {world} (nodes × gpus_per_node); allowed products are divisors of {world}"
            )
        dp = world // mp
        if given_dp is not None and given_dp != dp:
            raise ValidationError(
                f"parallelism.dp = {given_dp}: dp is derived, the world size {world} (nodes × gpus_per_node) "
                f"/ (tp·pp·cp = {mp}) = {dp}; leave it out or give {dp}")
        folded = v["tp"] * v["cp"] * dp
        if folded % (v["ep"] * v["etp"]):
            raise ValidationError(
                f"parallelism.ep·etp = {v['ep']}·{v['etp']}: the expert layout (Megatron-Core MoE parallel "
                f"folding) is carved out of the tp·cp·dp = {folded} ranks of a pipeline stage and must "
                f"divide it; allowed ep·etp: divisors of {folded}"
            )
        return cls(**v, zero=zero, sequence_parallel=sp, fsdp=fsdp, moe_dispatcher=disp, ep_overlap=epo,
                   tp_async=tpa, dualpipe=dpp, cp_rotate=cpr, cp_repeat_kv=cpk, fsdp_impl=fimpl, pp_schedule=pps,
                   dp=dp, _dp_derived=True)

    def given_table(self) -> dict:
        """The table as a dict that :meth:`from_dict` checks: :meth:`to_dict`, plus ``dp`` when
        it was given (``ParallelismConfig(dp=4)`` built directly), so a dp that is not the
        world's derived value is refused as in the dict form; a config that a scenario built
        (dp derived for its world) or one left at the default dp = 1 carries no dp."""
        d = self.to_dict()
        if not self._dp_derived and self.dp != 1:
            d["dp"] = self.dp
        return d

    def to_dict(self) -> dict:
        """The table's keys; ``pp_schedule`` only when given (left out it follows vp)."""
        return {k: getattr(self, k) for k in self.KEYS if k != "pp_schedule" or self.pp_schedule is not None}


def updated_plan(table, changes: dict) -> dict:
    """The [parallelism] table ``table`` (a dict or ParallelismConfig) with ``changes`` applied,
    the way :meth:`~infra_lab.scenario.Scenario.replace` and ``infra-lab sweep`` apply them:
    ``zero`` held at the value ``fsdp`` derives (1 without FSDP, 3 with it, as when left out)
    follows a change of ``fsdp`` unless ``changes`` names it. Without this a scenario whose
    ``zero`` was left out refused ``replace(parallelism={"fsdp": True})`` ("fsdp = true with
    zero = 1", the stored default), and turning FSDP off kept ZeRO-3, priced exactly as FSDP.
    Every other key keeps its value.

    Examples
    --------
    >>> updated_plan({"tp": 2, "zero": 1, "fsdp": False}, {"fsdp": True})
    {'tp': 2, 'fsdp': True}
    >>> updated_plan({"tp": 2, "zero": 3, "fsdp": True}, {"fsdp": False, "zero": 2})
    {'tp': 2, 'zero': 2, 'fsdp': False}
    """
    old = table.to_dict() if isinstance(table, ParallelismConfig) else dict(table)
    out = {**old, **changes}
    new = _py(changes.get("fsdp"))
    if "zero" in changes or "zero" not in old or not isinstance(new, bool):
        return out     # an invalid fsdp is refused by the table's own check
    try:
        was = bool(_bool("parallelism.fsdp", old.get("fsdp", False)))
    except ValidationError:
        return out
    if bool(new) != was and _py(old["zero"]) == (3 if was else 1):
        del out["zero"]
    return out
