"""Training a multimodal model: the encoder as a first-pipeline-stage prologue.

:func:`training_hook` turns a multimodal Scenario into the few extra inputs the training
step model (:func:`infra_lab.estimate`, :func:`infra_lab.search`) composes with the
language model's per-layer tables, collectives and memory formula:

* **prologue** (the encoders and projectors, on the pipeline stage that holds the
  embedding, as Megatron-Core's LLaVA places them): forward, backward and recompute time of
  one micro-batch's pictures and audio windows (:func:`~infra_lab.multimodal.encoder_ops`:
  the compute model's layer ops and GEMMs, plus the encoder's tensor-parallel all-reduces
  through :func:`infra_lab.collective`), the activations it stores per in-flight
  micro-batch and its static bytes (a frozen encoder's weights and forward working set);
* **trainable parameters** on that stage (projectors, extra embedding rows and, when
  trained, the encoders): they join the stage's parameters, so their gradients, optimizer
  states, ZeRO sharding, data-parallel buckets (reduced with the embedding, whose gradient
  completes last) and optimizer update come from the same formulas as the LM's;
* **cross-attention layers** (Llama 3.2 Vision, Whisper's decoder): their time, activations
  and parameters are spread evenly over the language model's layers (they sit between them);
* **FLOPs** of the encoders (forward only when frozen), projectors and cross-attention,
  added to every MFU convention.

Token positions come from the packing model (:func:`~infra_lab.multimodal.packing_stats`):
a sequence of ``seq_len`` positions holds on average ``images`` pictures and
``audio_windows`` encoder windows; the step processes ``global_batch`` such sequences, of
which a fraction ``waste`` is padding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from .._repr import Printout
from ..errors import ValidationError
from .compute import cross_ops, encoder_activation_bytes, encoder_ops, encoder_tp
from .packing import DataMix, PackingStats, packing_stats
from .specs import MultimodalSpec, system

if TYPE_CHECKING:
    import os

    from ..scenario import Scenario

PROLOGUE_NAMES = ("fwd", "fwd_mem", "bwd", "bwd_mem", "rc_sel", "rc_full", "act_none", "act_sel", "act_full",
                  "frozen_weights", "frozen_work")
"""Per-micro-batch prologue quantities handed to the step model (``H_PRO_*`` in
:mod:`infra_lab._kernels.training`, same order): forward/backward time of GEMM-like and
memory-bound ops [s], recompute time under selective/full recomputation [s], activation
bytes per in-flight micro-batch by recompute mode [bytes], a frozen encoder's weights and its
forward working set [bytes]."""

_MEM_COMPONENTS = ("memory", "norm", "cast")
_COMM_PARTS = ("tp_comm", "cp_comm", "ep_comm", "pp_p2p", "dp_grad_comm", "dp_param_comm", "optimizer")
"""Breakdown components of :class:`infra_lab.training.Estimate` outside the stages' compute:
communication and the optimizer update."""


@dataclass(frozen=True)
class TrainingHook:
    """Multimodal inputs of one training scenario (hashable: a cache key of the step model).

    Attributes
    ----------
    spec : the system; mix : the data mix; encoder : "trained" | "frozen"
    seq_len : [tokens]; precision : the LM's GEMM precision
    stats : packing statistics of the mix at seq_len
    hardware : the scenario's [hardware] table as a sorted tuple (for the encoder's TP
        collectives)
    encoder_scale : multiplies the prologue time (1 = modelled; 0 = the language model alone,
        used to split the step time)
    """

    spec: MultimodalSpec
    mix: DataMix
    encoder: str
    seq_len: int
    precision: str
    stats: PackingStats = field(compare=False)
    hardware: tuple
    encoder_scale: float = 1.0

    @property
    def trained(self) -> bool:
        return self.encoder == "trained"

    # ------------------------------------------------------------------ parameters
    def first_stage_params(self) -> float:
        """Trainable parameters the prologue adds to the first pipeline stage [params]:
        projectors, extra embedding rows and, when trained, the encoders."""
        b = self.spec._breakdown
        p = b["vision_projector"] + b["audio_projector"] + b["extra_embeddings"]
        if self.trained:
            p += b["vision_encoder"] + b["audio_encoder"]
        return float(p)

    def cross_params(self) -> float:
        """Parameters of the cross-attention layers [params] (spread over the LM's layers)."""
        return float(self.spec._breakdown["cross_attention"])

    def stage_extras(self) -> dict[str, float]:
        """Keyword arguments of :func:`infra_lab.memory.stage_candidates`."""
        return {"first_stage_params": self.first_stage_params(), "per_layer_params":
                self.cross_params() / max(1, len(self.spec.lm.layer_kinds()))}

    # ------------------------------------------------------------------ work per micro-batch
    def items(self, mbs: int, cp: int) -> tuple[float, float]:
        """(pictures, audio windows) of one micro-batch on one context-parallel rank [-]."""
        st = self.stats
        return mbs * st.images / cp, mbs * st.audio_windows / cp

    def _hw(self):
        from ..scenario import as_hardware

        return as_hardware(dict(self.hardware))

    def prologue(self, accelerator: str, tp: int, mbs: int, cp: int, tp_overlap: float) -> dict[str, float]:
        """The :data:`PROLOGUE_NAMES` quantities of one micro-batch on one rank.

        Encoder tensor-parallel all-reduces (two per layer and pass, of the layer's tokens ×
        width in 16 bit) are added to the GEMM-like time, less the stack's TP overlap; the
        step model multiplies GEMM-like time by the stack's framework scale, so they are
        stored divided by it by the caller's convention (see :mod:`infra_lab.training`)."""
        return dict(zip(PROLOGUE_NAMES, _prologue_cached(self, accelerator, int(tp), int(mbs), int(cp),
                                                          float(tp_overlap)), strict=True))

    def cross_act(self, tp: int, mbs: int, cp: int) -> float:
        """Activation bytes all cross-attention layers store for backward per micro-batch
        [bytes]: a dense LM layer's (:func:`infra_lab.memory.activation_bytes_per_layer`,
        flash attention) × cross layers (an approximation: their k/v inputs are the memory
        tokens, not the text)."""
        if not self.spec.cross_layers or self.stats.cross_tokens <= 0:
            return 0.0
        from .. import memory

        return float(memory.activation_bytes_per_layer(self.spec.lm, self.seq_len, int(mbs), int(tp), cp=int(cp),
                                                       flash_attention=True, kind="dense")["dense"]
                     * self.spec.cross_layers)

    def per_layer(self, accelerator: str, tp: int, mbs: int, cp: int, tp_overlap: float,
                  n_layers: int) -> dict[str, float]:
        """Cross-attention time and activations per language-model layer for one micro-batch
        [s, bytes]: fwd, bwd (GEMM-like, incl. exposed TP all-reduces), act (stored for
        backward, approximated as a dense LM layer's activations × cross layers / layers)."""
        return dict(zip(("fwd", "bwd", "act"), _per_layer_cached(self, accelerator, int(tp), int(mbs), int(cp),
                                                                 float(tp_overlap), int(n_layers)), strict=True))

    def flops_per_sequence(self) -> float:
        """Training FLOPs of the encoders, projectors and cross-attention per sequence [FLOP]:
        3 × forward for what is trained, 1 × forward for a frozen encoder."""
        return _flops_cached(self)

    def with_encoder_scale(self, scale: float) -> TrainingHook:
        return TrainingHook(self.spec, self.mix, self.encoder, self.seq_len, self.precision, self.stats,
                            self.hardware, float(scale))


def _tp_allreduce(hook: TrainingHook, size_bytes: float, n: int) -> float:
    if n <= 1 or size_bytes <= 0:
        return 0.0
    from ..collectives import collective

    return collective("all_reduce", size_bytes, hook._hw(), n).time_s


@functools.lru_cache(maxsize=1024)
def _prologue_cached(hook: TrainingHook, acc: str, tp: int, mbs: int, cp: int, tp_ovl: float) -> tuple:
    n_img, n_win = hook.items(mbs, cp)
    out = dict.fromkeys(PROLOGUE_NAMES, 0.0)
    for mod, n in (("vision", n_img), ("audio", n_win)):
        enc = getattr(hook.spec, mod)
        if n <= 0 or enc is None or enc.modality == "codec":
            continue
        ops = encoder_ops(hook.spec, mod, n, acc, tp=tp, passes=("fwd", "bwd"), image_size=hook.mix.image_size)
        if not hook.trained:   # frozen: the encoder runs forward only; the projector still learns
            ops = ops.filter(~((pl.col("pass") == "bwd") & pl.col("part").is_in(["layers", "stem"])))
        mem = pl.col("component").is_in(_MEM_COMPONENTS)
        for ps in ("fwd", "bwd"):
            sub = ops.filter(pl.col("pass") == ps)
            out[ps] += float(sub.filter(~mem)["time_s"].sum())
            out[f"{ps}_mem"] += float(sub.filter(mem)["time_s"].sum())
        layers_fwd = ops.filter((pl.col("pass") == "fwd") & (pl.col("part") == "layers"))
        # tensor-parallel all-reduces of the encoder layers: 2 per layer forward, 2 backward
        tpe = encoder_tp(enc, tp)
        seq = enc.image_grid(*_sz(hook.mix.image_size))["patches"] if mod == "vision" else \
            enc.window_s * enc.mel_frames_per_s / enc.conv_stride
        per_group = n / (tp // tpe)
        ar = _tp_allreduce(hook, per_group * seq * enc.hidden * 2.0, tpe) * (1.0 - tp_ovl)
        out["fwd"] += 2.0 * enc.total_layers * ar
        if hook.trained:
            out["bwd"] += 2.0 * enc.total_layers * ar
            out["rc_full"] += float(layers_fwd["time_s"].sum()) + 2.0 * enc.total_layers * ar
            out["rc_sel"] += float(layers_fwd.filter(pl.col("component") == "attention")["time_s"].sum())
            for rc, key in (("none", "act_none"), ("selective", "act_sel"), ("full", "act_full")):
                out[key] += encoder_activation_bytes(hook.spec, mod, n, tp, recompute=rc,
                                                     image_size=hook.mix.image_size)
        else:
            # frozen weights (16 bit, split over the encoder's TP ranks) + one layer's forward
            # working set of the micro-batch
            out["frozen_weights"] += 2.0 * enc.params_total / tpe
            out["frozen_work"] += encoder_activation_bytes(hook.spec, mod, n, tp, recompute="none",
                                                      image_size=hook.mix.image_size) / enc.total_layers
    s = hook.encoder_scale
    return tuple(out[k] * (s if k in ("fwd", "fwd_mem", "bwd", "bwd_mem", "rc_sel", "rc_full") else 1.0)
                 for k in PROLOGUE_NAMES)


def _sz(size):
    from .specs import _size

    return _size(size)


@functools.lru_cache(maxsize=1024)
def _per_layer_cached(hook: TrainingHook, acc: str, tp: int, mbs: int, cp: int, tp_ovl: float,
                      n_layers: int) -> tuple:
    spec, st = hook.spec, hook.stats
    if not spec.cross_layers or st.cross_tokens <= 0:
        return (0.0, 0.0, 0.0)
    T = mbs * hook.seq_len / cp
    M = mbs * st.cross_tokens / cp
    items = st.images if spec.cross_from == "vision" else st.audio_windows
    C = st.cross_tokens / max(items, 1e-12)
    ops = cross_ops(spec, T, M, C, acc, tp=tp, passes=("fwd", "bwd"), precision=hook.precision)
    ar = _tp_allreduce(hook, T * spec.lm.hidden * 2.0, tp) * (1.0 - tp_ovl)
    n_ar = 2.0 if not spec.cross_mlp else 4.0   # attention output (+ MLP output) per pass
    fwd = float(ops.filter(pl.col("pass") == "fwd")["time_s"].sum()) + spec.cross_layers * n_ar / 2.0 * ar
    bwd = float(ops.filter(pl.col("pass") == "bwd")["time_s"].sum()) + spec.cross_layers * n_ar / 2.0 * ar
    act = hook.cross_act(tp, mbs, cp)
    s = hook.encoder_scale
    return (s * fwd / n_layers, s * bwd / n_layers, act / n_layers)


@functools.lru_cache(maxsize=256)
def _flops_cached(hook: TrainingHook) -> float:
    st = hook.stats
    acc = "MI300X"  # FLOP counts do not depend on the device
    f = 0.0
    for mod, n in (("vision", st.images), ("audio", st.audio_windows)):
        enc = getattr(hook.spec, mod)
        if n <= 0 or enc is None or enc.modality == "codec":
            continue
        ops = encoder_ops(hook.spec, mod, n, acc, passes=("fwd",), image_size=hook.mix.image_size)
        enc_f = float(ops.filter(pl.col("part") != "projector")["flops"].sum())
        proj_f = float(ops.filter(pl.col("part") == "projector")["flops"].sum())
        f += (3.0 if hook.trained else 1.0) * enc_f + 3.0 * proj_f
    spec = hook.spec
    if spec.cross_layers and st.cross_tokens > 0:
        items = st.images if spec.cross_from == "vision" else st.audio_windows
        ops = cross_ops(spec, hook.seq_len, st.cross_tokens, st.cross_tokens / max(items, 1e-12), acc,
                        passes=("fwd",), precision="bf16")
        f += 3.0 * float(ops["flops"].sum())
    return f


def training_hook(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], *,
                  encoder_scale: float = 1.0) -> TrainingHook | None:
    """The multimodal inputs of a training Scenario, or None for a text-only model.

    Parameters
    ----------
    scenario : Scenario or dict
    encoder_scale : multiplies the prologue and cross-attention time [-] (0: the language
        model alone, for the "where the time goes" split)
    """
    from .. import _validate as V
    from ..scenario import as_scenario

    # the hook reads the model, [training] and [hardware], not the plan: a search's scenario may
    # leave [parallelism] out or hold a plan that does not fit (il.search of a multimodal model)
    sc = as_scenario(scenario, check_plan=False)
    spec = sc.multimodal
    if spec is None:
        return None
    # a numpy scalar is a number here as everywhere (np.float32(0.5) was refused)
    encoder_scale = V.number("encoder_scale", encoder_scale, lo=0.0, allowed="a finite number >= 0")
    tr = sc.training
    if tr is None:
        # a serving scenario of a multimodal model failed with AttributeError ('NoneType' ... 'data_mix')
        raise ValidationError(f"training_hook: scenario {sc.name!r} has no [training] table (a serving "
                              f"scenario?); the training hook reads [training] (seq_len, data_mix, encoder): "
                              f"for serving use il.multimodal.serve")
    mix = tr.data_mix if tr.data_mix is not None else DataMix()
    st = packing_stats(spec, mix, tr.seq_len)
    hw = tuple(sorted(sc.hardware.to_dict().items()))
    return TrainingHook(spec, mix, tr.encoder or "trained", tr.seq_len, tr.precision, st, hw,
                        float(encoder_scale))


# --------------------------------------------------------------------------------------
# The multimodal estimate: the contract's Estimate plus where the time goes
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultimodalEstimate(Printout):
    """A training step of a multimodal (or text) scenario, split by what it spends time on.

    Attributes
    ----------
    estimate : the :class:`infra_lab.training.Estimate` of the whole model (``il.estimate``)
    lm_only : the same plan with the encoders and cross-attention taken out (time scale 0) —
        the language model alone on the same sequences
    stats : packing statistics (None for a text-only model without a data mix)
    useful_tokens_per_s : non-padding positions per second [tokens/s]
    tokens_per_s_by_modality : {"text", "image", "audio"} positions (cross-attention memory
        for a cross modality) per second [tokens/s]
    """

    estimate: Any
    lm_only: Any
    stats: PackingStats | None
    useful_tokens_per_s: float
    tokens_per_s_by_modality: dict = field(repr=False)
    encoder_compute_s: float = 0.0

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line, 4 significant
        figures, each with its unit; the exact values are the attributes; the training Estimate's printout follows."""
        from .._repr import readable

        return "\n".join((readable(self, ("step_time_s", "useful_tokens_per_s", "tokens_per_s_by_modality",
                                    "encoder_compute_s"), title="multimodal training step", footer=""),
                          str(self.estimate)))

    @property
    def step_time_s(self) -> float:
        return self.estimate.step_time_s

    def breakdown(self) -> pl.DataFrame:
        """Where one step's time goes [s] (sums to the step time):

        * ``language_model`` — the LM alone (encoder time scaled to 0) on useful positions;
        * ``padding`` — the LM on padding positions (its step × the packing waste);
        * ``encoder_compute`` — the encoders, projectors and cross-attention of the step's m
          micro-batches shared over the pp stages as a perfectly balanced pipeline would;
        * ``exposed_comm_change`` — how the exposed communication and the optimizer update
          move when the encoder is added (down: a longer backward hides more of the
          data-parallel gradient traffic; up: the encoder's gradients join the buckets and
          its parameters the optimizer);
        * ``stage_imbalance`` — the rest: the first stage, which carries the encoder,
          becomes the slowest and the other stages and the bubble wait for it (0 with pp = 1;
          negative when the first stage had slack)."""
        step = self.estimate.step_time_s
        lm = self.lm_only.step_time_s
        waste = self.stats.waste if self.stats is not None else 0.0
        enc = self.encoder_compute_s
        comm = _COMM_PARTS
        b1 = dict(self.estimate.breakdown.iter_rows())
        b0 = dict(self.lm_only.breakdown.iter_rows())
        dcomm = sum(b1.get(k, 0.0) - b0.get(k, 0.0) for k in comm)
        imb = step - lm - enc - dcomm
        if abs(imb) < 1e-12 * step:
            imb = 0.0
        return pl.DataFrame({"part": ["language_model", "padding", "encoder_compute", "exposed_comm_change",
                                      "stage_imbalance"],
                             "seconds": [lm * (1 - waste), lm * waste, enc, dcomm, imb]})

    def to_dict(self) -> dict[str, Any]:
        d = self.estimate.to_dict()
        d.update(useful_tokens_per_s=self.useful_tokens_per_s,
                 lm_only_step_time_s=self.lm_only.step_time_s,
                 waste=self.stats.waste if self.stats is not None else 0.0)
        d.update({f"{p}_s": s for p, s in self.breakdown().iter_rows()})
        return d


def estimate(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], *,
             stack: str | None = None, params: dict | None = None) -> MultimodalEstimate:
    """:func:`infra_lab.estimate` of a (multimodal) scenario with the time split by part.

    Parameters
    ----------
    scenario : Scenario or dict; stack, params : as :func:`infra_lab.estimate`

    Returns
    -------
    MultimodalEstimate

    Notes
    -----
    encoder_compute = m · t_prologue / pp + (cross-attention time of the step) / pp ... in
    words: the prologue work of the step's m micro-batches (plus the cross-attention work of
    all stages), shared over the pp stages as a perfectly balanced pipeline would; the
    difference between the step and (LM alone + that) is the stage imbalance the encoder
    adds to the first stage. The useful-token rate is positions/s × (1 − waste).

    Examples
    --------
    >>> import infra_lab as il
    >>> from infra_lab import multimodal as mm
    >>> sc = mm.example_scenario("qwen2.5-vl-7b", {"text": 0.5, "image": 0.5}, nodes=1)
    >>> r = mm.estimate(sc)
    >>> abs(float(r.breakdown()["seconds"].sum()) - r.step_time_s) < 1e-9 * r.step_time_s
    True
    """
    from ..scenario import as_scenario
    from ..training import estimate as il_estimate

    sc = as_scenario(scenario)
    est = il_estimate(sc, stack=stack, params=params)
    hook = training_hook(sc)
    if hook is None:
        st = packing_stats(None, sc.training.data_mix, sc.training.seq_len) if sc.training.data_mix else None
        waste = st.waste if st else 0.0
        tps = est.tokens_per_s * (1 - waste)
        return MultimodalEstimate(est, est, st, tps, {"text": tps, "image": 0.0, "audio": 0.0}, 0.0)
    from ..training import _estimate_with_hook

    lm = _estimate_with_hook(sc, hook.with_encoder_scale(0.0), stack=stack, params=params)
    st = hook.stats
    p, tr = sc.parallelism, sc.training
    m = tr.global_batch / (p.dp * tr.micro_batch)
    from .. import stacks as _stacks
    from ..training import stack_params

    sp = stack_params(stack or sc.stack, params)
    acc = sc.hardware.accelerator
    pro = hook.prologue(acc, p.tp, tr.micro_batch, p.cp, sp["tp_comm_overlap"])
    fw, ms = sp["framework_time_scale"], sp["memory_time_scale"]
    rc = tr.recompute
    t_pro = fw * (pro["fwd"] + pro["bwd"]) + ms * (pro["fwd_mem"] + pro["bwd_mem"]) \
        + (fw * pro["rc_full"] if rc == "full" else fw * pro["rc_sel"] if rc == "selective" else 0.0)
    n_layers = len(sc.model_spec.layer_kinds())
    pl_ = hook.per_layer(acc, p.tp, tr.micro_batch, p.cp, sp["tp_comm_overlap"], n_layers)
    t_cross = fw * (pl_["fwd"] + pl_["bwd"]) * n_layers
    enc = m * (t_pro + t_cross) / p.pp
    del _stacks
    steps_per_s = 1.0 / est.step_time_s
    seqs = tr.global_batch * steps_per_s
    by = {"text": seqs * st.text_positions,
          "image": seqs * (st.image_positions if hook.spec.inline("vision") else st.cross_tokens),
          "audio": seqs * (st.audio_positions if hook.spec.inline("audio") else st.cross_tokens)}
    return MultimodalEstimate(est, lm, st, seqs * st.useful_positions, by, enc)


def example_scenario(system_name: str, mix: dict | None = None, *, accelerator: str = "MI300X",
                     nodes: int = 128, seq_len: int = 4096, global_batch: int | None = None,
                     encoder: str = "trained", tp: int = 1, pp: int = 1, micro_batch: int = 1,
                     zero: int = 1, recompute: str = "none") -> dict:
    """A training Scenario dict for a multimodal preset on a cluster of ``nodes`` × 8 GPUs
    (the accelerator's default NIC, :func:`infra_lab.catalog.default_nic`: Pollara-400 on AMD
    parts as on the IBM cluster; rails-only fabric as there), for notebooks and tests.

    ``global_batch`` defaults to 4 sequences per data-parallel rank per micro-batch size.

    Parameters
    ----------
    system_name : a multimodal preset's name (il.multimodal.system_names() lists them), e.g.
        'qwen2.5-vl-7b'
    """
    for name, v in (("nodes", nodes), ("seq_len", seq_len), ("tp", tp), ("pp", pp), ("micro_batch", micro_batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValidationError(f"{name} = {v!r}: expected a positive integer")
    if not isinstance(system_name, str) or not isinstance(accelerator, str):
        raise ValidationError(f"system_name = {system_name!r}, accelerator = {accelerator!r}: expected names (strings)")
    from .. import catalog

    # the names checked here (nearest valid name), not in the first call that reads the dict;
    # an alias in any letter case ('mi300x') gets AMD's PXN as the canonical name does
    system_name = system(system_name).name
    acc = catalog.accelerator(accelerator)
    accelerator = acc.name
    gpus = nodes * 8
    dp = max(1, gpus // (tp * pp))
    gb = global_batch if global_batch is not None else 4 * dp * micro_batch
    d: dict[str, Any] = {
        "name": f"{system_name}-training",
        "model": {"preset": system_name},
        "hardware": {"accelerator": accelerator, "nodes": nodes, "gpus_per_node": 8,
                     "nics_per_node": 8, "fabric": "rails-only", **({"pxn": True} if acc.vendor == "AMD"
                                                                     else {})},
        "training": {"seq_len": seq_len, "global_batch": gb, "micro_batch": micro_batch,
                     "recompute": recompute, "encoder": encoder},
        "parallelism": {"tp": tp, "pp": pp, "zero": zero},
    }
    if mix is not None:
        if isinstance(mix, DataMix):
            mix = mix.to_dict()
        if not isinstance(mix, dict):
            raise ValidationError(f"mix = {mix!r:.80}: expected a data mix (a DataMix or its table as a dict)")
        d["training"]["data_mix"] = dict(mix)
    from ..scenario import Scenario

    Scenario.from_dict(d)   # a mix the system cannot take, a plan the cluster cannot hold: said here
    return d


__all__ = ["PROLOGUE_NAMES", "TrainingHook", "training_hook", "MultimodalEstimate", "estimate",
           "example_scenario"]
