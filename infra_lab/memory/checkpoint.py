"""Checkpoint size (issue 16; the one owner of checkpoint bytes): what one full training
checkpoint holds and how it is spread over the ranks (:func:`checkpoint_bytes`,
:class:`CheckpointSize`, :data:`CHECKPOINT_SAVES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError, check_positive, unknown
from ._common import _spec
from .training import OPTIMIZER_STATE_BYTES, expert_data_parallel

if TYPE_CHECKING:
    from ..models import ModelSpec
    from ..scenario import Scenario

CHECKPOINT_SAVES = ("fully-parallel", "replica")
"""How replicated tensors are written: ``fully-parallel`` splits every replicated tensor over
its data-parallel replicas (Megatron-Core ``--ckpt-fully-parallel-save``, PyTorch DCP's
deduplicated plan); ``replica`` lets the first data-parallel replica write them."""


# Parameter groups that Muon does not manage (embeddings, output layer and 1-D parameters are
# left to AdamW, as in Muon's reference recipe); every other group is a weight matrix.
_MUON_ADAMW_GROUPS = frozenset({"embeddings", "position_embeddings", "lm_head", "norms",
                                "residual_scales", "biases"})


@dataclass(frozen=True)
class CheckpointSize:
    """What one full training checkpoint holds and how it is spread over the ranks.

    Attributes
    ----------
    total_bytes : weights + optimizer state, saved once [bytes]
    weights_bytes : working weights [bytes]
    optimizer_bytes : fp32 master copy + optimizer moments [bytes]
    model_parallel : ranks holding one copy of the weights, tp·pp [-]
    replicas : data-parallel replicas of the weights, dp·cp [-]
    zero : ZeRO stage (optimizer state sharded over the replicas when ≥ 1) [-]
    fsdp : weights sharded over the replicas too [-]
    optimizer, save : the choices that produced it
    expert_weights_bytes, expert_optimizer_bytes : of weights_bytes and optimizer_bytes,
        the routed experts' part [bytes]
    pipeline : pipeline stages pp (model_parallel = tp·pp) [-]
    expert_parallel : ranks of a stage that split the routed experts, ep·etp [-]
    expert_replicas : replicas of one expert shard, tp·cp·dp/(ep·etp) [-]
    """

    total_bytes: float
    weights_bytes: float
    optimizer_bytes: float
    model_parallel: int
    replicas: int
    zero: int
    fsdp: bool
    optimizer: str
    save: str
    expert_weights_bytes: float = 0.0
    expert_optimizer_bytes: float = 0.0
    pipeline: int = 1
    expert_parallel: int = 1
    expert_replicas: int | None = None

    @property
    def ranks(self) -> int:
        """Ranks of the job, model_parallel × replicas [-]."""
        return self.model_parallel * self.replicas

    def _rank_shards(self) -> dict[str, float]:
        """Bytes one rank holds of each part of the checkpoint [bytes]: dense and expert
        weights and optimizer state. The split is the memory model's
        (:func:`infra_lab._kernels.memory.training_bytes`, the one owner of the per-GPU
        shard): non-expert parameters over tp, routed experts over ep·etp, both over pp;
        optimizer state (ZeRO ≥ 1 or FSDP) and weights (FSDP) sharded over the replicas of
        their shard (dense: dp·cp; experts: the expert data-parallel group)."""
        from .._kernels.memory import training_bytes

        pp = float(self.pipeline)
        tp = float(self.model_parallel // self.pipeline)
        g_e = float(self.replicas if self.expert_replicas is None else self.expert_replicas)
        zero, fsdp = (1 if self.zero >= 1 else 0), (1 if self.fsdp else 0)

        def shard(p_ne: float, p_e: float, wb: float, ob: float) -> float:
            w, _, o, *_ = training_bytes(p_ne / pp, p_e / pp, 0.0, tp, float(self.expert_parallel), 1.0,
                                         float(self.replicas), g_e, zero, fsdp, wb, 0.0, ob, 0.0,
                                         0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, wb)
            return float(w + o)

        ew, eo = self.expert_weights_bytes, self.expert_optimizer_bytes
        return {"dense_weights": shard(self.weights_bytes - ew, 0.0, 1.0, 0.0),
                "expert_weights": shard(0.0, ew, 1.0, 0.0),
                "dense_optimizer": shard(self.optimizer_bytes - eo, 0.0, 0.0, 1.0),
                "expert_optimizer": shard(0.0, eo, 0.0, 1.0)}

    def max_node_bytes(self, gpus_per_node: int) -> float:
        """Bytes written by the busiest node [bytes], ranks packed onto nodes in order
        (the model-parallel group innermost, as Megatron places it).

        ``fully-parallel``: every rank writes total/ranks. ``replica``: the first replica's
        ranks write the replicated tensors (weights unless FSDP; optimizer state unless
        ZeRO ≥ 1), every rank writes its own shards; the first node is the busiest. The
        first dense replica is the tp·pp ranks of one weight copy; the first expert replica
        the ep·etp·pp ranks of one copy of the experts; each writes its rank's shard
        (:meth:`_rank_shards`).
        """
        gpn = int(check_positive("gpus_per_node", gpus_per_node, integer=True))
        gpn = min(gpn, self.ranks)
        if self.save == "fully-parallel":
            return self.total_bytes / self.ranks * gpn
        s = self._rank_shards()
        first_dense = min(gpn, self.model_parallel)
        first_expert = min(gpn, self.expert_parallel * self.pipeline)
        w_sharded, o_sharded = self.fsdp, self.zero >= 1 or self.fsdp
        return ((gpn if w_sharded else first_dense) * s["dense_weights"]
                + (gpn if w_sharded else first_expert) * s["expert_weights"]
                + (gpn if o_sharded else first_dense) * s["dense_optimizer"]
                + (gpn if o_sharded else first_expert) * s["expert_optimizer"])

    def reload_node_bytes(self, gpus_per_node: int) -> float:
        """Bytes the busiest node reads from storage on restart [bytes].

        ``fully-parallel`` (Megatron-Core's fully parallel load): every rank reads
        total/ranks and the replicas exchange the rest over the back-end network (that
        exchange is not counted here). ``replica``: every rank reads what it holds
        (:meth:`_rank_shards`): the full weights of its model-parallel shard (unless FSDP),
        its routed experts only (1/(ep·etp) of them), plus its optimizer shard.
        """
        gpn = min(int(check_positive("gpus_per_node", gpus_per_node, integer=True)), self.ranks)
        if self.save == "fully-parallel":
            return self.total_bytes / self.ranks * gpn
        return gpn * sum(self._rank_shards().values())

    @property
    def reload_total_bytes(self) -> float:
        """Bytes all nodes read from storage on restart together [bytes]: the checkpoint
        once (``fully-parallel``), or every rank's shard (``replica``: the weights once per
        replica, dense per dp·cp replica and experts per expert data-parallel replica)."""
        if self.save == "fully-parallel":
            return self.total_bytes
        return self.ranks * sum(self._rank_shards().values())


def _int_at_least_one(field: str, value) -> int:
    """A parallel size: an integer from 1 to the largest cluster the library admits
    (``max_world_gpus``)."""
    from .. import _validate as V
    from ..fabric import constant

    return V.integer(field, value, hi=int(constant("max_world_gpus")))


def multimodal_checkpoint_bytes(hook, optimizer: str, weight_bytes: float) -> tuple[float, float]:
    """(weights, optimizer state) [bytes] a multimodal system's checkpoint holds beside its
    language model's: the trainable first-stage parameters (projectors, extra embedding rows
    and, when trained, the encoders) and cross-attention layers with ``optimizer``'s state, a
    frozen encoder's weights alone (:class:`infra_lab.multimodal.TrainingHook`). The one formula
    of :func:`checkpoint_bytes` of a multimodal Scenario and of ``il.estimate``'s
    ``checkpoint_bytes``: the first left the encoders out (a Maia-class scenario's checkpoint
    was smaller there than in the estimate)."""
    trainable = hook.first_stage_params() + hook.cross_params()
    frozen = 0.0 if hook.trained else float(hook.spec.params_encoders)
    return (trainable + frozen) * weight_bytes, trainable * OPTIMIZER_STATE_BYTES[optimizer]


def checkpoint_bytes(spec: ModelSpec | Scenario | str | dict[str, Any],
                     optimizer: str | None = None, *, weight_bytes: float | None = None,
                     save: str = "fully-parallel", tp: int | None = None, pp: int | None = None,
                     cp: int | None = None, dp: int | None = None, zero: int | None = None,
                     fsdp: bool | None = None, ep: int | None = None,
                     etp: int | None = None) -> CheckpointSize:
    """Size of one full training checkpoint and its spread over ranks.

    Parameters
    ----------
    spec : Scenario (model, optimizer and parallelism from it; a multimodal model's encoders,
        projectors and cross-attention included, :func:`multimodal_checkpoint_bytes`), ModelSpec
        or preset name
    optimizer : "adamw" | "adam" | "muon" | "sgd"; default the Scenario's, else "adamw".
        AdamW saves an fp32 master copy and two moments (12 B/param, ZeRO's accounting);
        Muon one momentum and the master copy (8 B/param) on weight matrices and AdamW's 12 B
        on embeddings, output layer and 1-D parameters (norms, scales)
    weight_bytes : bytes per saved working weight [B/param]; default (None) a bf16 weight,
        ``catalog.format_bytes("bf16")`` of the number-format table (data/serving/number_formats.csv)
    save : "fully-parallel" or "replica", see :data:`CHECKPOINT_SAVES`
    tp, pp, cp, dp, zero, fsdp : parallelism [-]; default the Scenario's, else 1, 1, 1, 1, 1, False
    ep, etp : expert and expert-tensor parallelism of the routed experts [-]; default the
        Scenario's, else 1, 1; ep·etp must divide tp·cp·dp (Megatron-Core MoE parallel folding)

    Returns
    -------
    CheckpointSize : total, weights and optimizer bytes [bytes] and the sharding that
    decides the bytes each node writes (:meth:`CheckpointSize.max_node_bytes`) and reads.

    Notes
    -----
    total = P · weight_bytes + Σ_groups P_g · optimizer_bytes(g). Gradients and activations
    are not saved. Parameter groups come from ``ModelSpec.param_breakdown()``; the routed
    experts (with those of multi-token-prediction modules) are the memory model's expert
    parameters (:func:`infra_lab.memory.stage_candidates`), sharded over ep·etp ranks.

    References
    ----------
    ZeRO (Rajbhandari et al.), 2 + 2 + 12 bytes per parameter: https://arxiv.org/abs/1910.02054 ;
    Muon keeps one momentum buffer per matrix: https://kellerjordan.github.io/posts/muon/

    Examples
    --------
    >>> c = checkpoint_bytes("zaya1-base", "adamw")
    >>> round(c.total_bytes / c.weights_bytes * 2, 1)   # bytes per parameter
    14.0
    >>> m = checkpoint_bytes("zaya1-base", "muon")
    >>> m.total_bytes < c.total_bytes
    True
    """
    from ..scenario import Scenario

    sc = spec if isinstance(spec, Scenario) else None
    if sc is not None and (sc.training is None or sc.parallelism is None):
        raise ValidationError(
            f"spec = Scenario {sc.name!r}: a serving scenario has no [training] / [parallelism] "
            "tables, so no optimizer state or sharding to checkpoint; pass a training Scenario, "
            "or its model (scenario.model_spec) with optimizer= and the parallelism as keywords")
    if sc is not None:
        model = sc.model_spec
        par, tr = sc.parallelism, sc.training
        optimizer = tr.optimizer if optimizer is None else optimizer
        tp = par.tp if tp is None else tp
        pp = par.pp if pp is None else pp
        cp = par.cp if cp is None else cp
        dp = par.dp if dp is None else dp
        zero = par.zero if zero is None else zero
        fsdp = par.fsdp if fsdp is None else fsdp
        ep = par.ep if ep is None else ep
        etp = par.etp if etp is None else etp
    elif isinstance(spec, (str, dict)) or hasattr(spec, "param_breakdown"):
        model = _spec(spec)
    else:
        raise ValidationError(
            f"spec = {spec!r}: expected a Scenario, a ModelSpec, a model preset name or a [model] table (dict)")
    optimizer = "adamw" if optimizer is None else optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZER_STATE_BYTES:
        raise unknown("optimizer", optimizer, OPTIMIZER_STATE_BYTES)
    if save not in CHECKPOINT_SAVES:
        raise unknown("checkpoint save", save, CHECKPOINT_SAVES)
    if weight_bytes is None:
        from .. import catalog

        weight_bytes = catalog.format_bytes("bf16")
    from .. import _validate as V

    # as memory.training_memory's working-weight width (1e300 gave an infinite checkpoint)
    wb = V.number("weight_bytes", weight_bytes, lo=0.0, lo_open=True, hi=16.0,
                  allowed="a finite number, 0 < x <= 16 bytes per parameter")
    tp, pp, cp, dp, ep, etp = (_int_at_least_one(n, v if v is not None else 1)
                               for n, v in (("tp", tp), ("pp", pp), ("cp", cp), ("dp", dp),
                                            ("ep", ep), ("etp", etp)))
    if (tp * cp * dp) % (ep * etp):
        ok = [d for d in range(1, tp * cp * dp + 1) if (tp * cp * dp) % d == 0]
        raise ValidationError(f"ep·etp = {ep}·{etp} = {ep * etp}: must divide tp·cp·dp = {tp * cp * dp} "
                              f"(Megatron-Core MoE parallel folding); allowed ep·etp: {ok[:12]}"
                              + (" ..." if len(ok) > 12 else ""))
    n_experts = int(getattr(model, "experts", 0) or 0)
    if n_experts and n_experts % ep:
        raise ValidationError(f"ep = {ep}: the model's {n_experts} routed experts must split evenly "
                              f"over the ep ranks; allowed ep: divisors of {n_experts}")
    from .. import _validate as V
    from ..scenario._checks import _zero_stage

    zero = _zero_stage("zero", 1 if zero is None else zero)   # a ZeRO stage 0..3, as [parallelism] zero
    fsdp = V.boolean("fsdp", False if fsdp is None else fsdp)

    groups = {r["component"]: float(r["params_total"])
              for r in model.param_breakdown().iter_rows(named=True)}
    if model.params_mtp:      # multi-token-prediction modules are trained and saved too (weight matrices)
        groups["mtp"] = float(model.params_mtp)
    params = sum(groups.values())
    adam = OPTIMIZER_STATE_BYTES["adamw"]
    if optimizer == "muon":
        opt = sum(p * (adam if g in _MUON_ADAMW_GROUPS else OPTIMIZER_STATE_BYTES["muon"])
                  for g, p in groups.items())
    else:
        opt = params * OPTIMIZER_STATE_BYTES[optimizer]
    weights = params * wb
    p_exp = 0.0
    if n_experts:
        from .pipeline import stage_candidates

        p_exp = float(stage_candidates(model, 1)[0]["p_expert"])
    exp_opt = p_exp * OPTIMIZER_STATE_BYTES[optimizer]   # routed experts are weight matrices (Muon's)
    if sc is not None:   # a multimodal Scenario: its encoders, projectors and cross-attention too
        from ..multimodal.training import training_hook

        hook = training_hook(sc)
        if hook is not None:
            w_mm, o_mm = multimodal_checkpoint_bytes(hook, optimizer, wb)
            weights, opt = weights + w_mm, opt + o_mm
    return CheckpointSize(weights + opt, weights, opt, tp * pp, dp * cp, zero, fsdp,
                          optimizer, save, p_exp * wb, exp_opt, pp, ep * etp,
                          expert_data_parallel(tp, cp, dp, ep, etp))
