"""The :class:`Scenario` itself: assembling the tables from a dict (``from_dict``, with or without
a checked plan), from TOML and back (``from_toml``, ``to_dict``, ``to_toml``), ``replace``,
equality and hashing, and the checks of the tables against each other (plan, stack, serving
deployment, multimodal keys)."""

from __future__ import annotations

import contextvars
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._repr import Printout
from ..errors import InfraLabError, ValidationError, unknown
from ._checks import _check_keys
from .hardware_table import HardwareConfig, updated_table, warn_node_size
from .model_table import _is_multimodal, _validate_model
from .parallelism_table import ParallelismConfig, updated_plan
from .serving_table import WEIGHT_PRECISIONS, ServingConfig, serving_stack
from .shipped import _source_hint
from .training_table import PRECISIONS, TrainingConfig, check_recompute_num_layers


@dataclass(frozen=True)
class Scenario(Printout):
    """A validated training or serving scenario (the contract in docs/ARCHITECTURE.md).

    Attributes
    ----------
    name : identifier
    model : the [model] table as given (preset and/or explicit fields)
    hardware : validated [hardware] table
    training, parallelism : validated tables of a training scenario (None in a serving one;
        left out of a training one built directly, the defaults as in the dict form)
    serving : validated [serving] table of a serving scenario (None in a training one)

    A scenario for :func:`infra_lab.search` (``Scenario.from_dict(d, check_plan=False)``) may
    have no plan (``parallelism`` None) or one that does not fit its cluster, batch or model:
    a call that prices one plan (:func:`infra_lab.estimate`, memory, ...) validates it again
    and raises the plan's error, or says that [parallelism] is missing.

    Build one with :meth:`from_dict`, :meth:`from_toml` or :func:`infra_lab.load_scenario`;
    change one with :meth:`replace` (a new validated Scenario: it is frozen); write one with
    :meth:`to_dict` / :meth:`to_toml`. Every error names the field, the value given and what is
    allowed (:class:`~infra_lab.errors.ValidationError`, or
    :class:`~infra_lab.errors.UnknownNameError` with the nearest valid names).

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.Scenario.from_dict({
    ...     "name": "llama3-8b-h100", "model": {"preset": "llama3-8b"},
    ...     "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
    ...     "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
    ...     "parallelism": {"tp": 2}})
    >>> sc.kind, sc.hardware.world_size, sc.parallelism.dp, sc.stack
    ('training', 8, 4, 'megatron-core-cuda')
    >>> il.Scenario.from_dict({**sc.to_dict(), "hardware": {"accelerator": "NVIDIA H100 SXM"}})
    Traceback (most recent call last):
    ...
    infra_lab.errors.UnknownNameError: unknown accelerator 'NVIDIA H100 SXM' in hardware.accelerator. Did you mean 'H100-SXM', ...? Valid: ...
    """

    name: str
    model: dict = field(hash=False)
    hardware: HardwareConfig
    training: TrainingConfig | None = None       # left out: as a dict without [training]
    parallelism: ParallelismConfig | None = None
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
        moe_dispatcher, ep_overlap, tp_async, dualpipe, cp_rotate, cp_repeat_kv, fsdp_impl), not against
        the world size, ``training.global_batch``/``micro_batch`` or the model; every other
        table is validated as usual. Given a Scenario built so, ``check_plan=True`` (the
        default, as every call that prices one plan uses it) validates it in full: the plan's
        error, or "no [parallelism] table" when it has none.

        Parameters
        ----------
        d : dict with ``name``, ``model``, ``hardware`` and either ``training`` (+ optional
            ``parallelism``) or ``serving``; the keys, their units and allowed values are the
            contract's (docs/ARCHITECTURE.md, "Contract: the Scenario")
        check_plan : validate the [parallelism] plan against the cluster, batch and model

        Returns
        -------
        Scenario

        Examples
        --------
        >>> import infra_lab as il
        >>> sc = il.Scenario.from_dict({
        ...     "name": "serve-70b", "model": {"preset": "llama3.3-70b"},
        ...     "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
        ...     "serving": {"engine": "vllm", "tp": 8, "concurrency": 32}})
        >>> sc.kind, sc.serving.gpus, sc.stack
        ('serving', 8, 'vllm-rocm')
        >>> il.Scenario.from_dict({**sc.to_dict(), "serving": {"tp": 3}})
        Traceback (most recent call last):
        ...
        infra_lab.errors.ValidationError: ...
        """
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
                what = ("preset = '<name>' or explicit layers, hidden, heads, vocab" if req == "model"
                        else "accelerator = '<name>' and optionally nodes, gpus_per_node, nic, ...")
                raise ValidationError(f"scenario: missing table [{req}]; expected a [{req}] table with {what} "
                                      f"(given tables: {', '.join(sorted(map(str, d))) or 'none'})")
        name = d.get("name", "scenario")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"name = {name!r}: expected a non-empty string (not only whitespace)")
        hw = HardwareConfig.from_dict(d["hardware"])
        warn_node_size(d["hardware"], hw)
        if "serving" in d:
            extra = [t for t in ("training", "parallelism") if t in d]
            if extra:
                raise ValidationError(
                    f"scenario: [serving] replaces [{'] and ['.join(extra)}]; give either [serving] "
                    "(an inference deployment) or [training] + [parallelism] (a training run)")
            sv = ServingConfig.from_dict(d["serving"], hw.accelerator)
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
        tr = self.training
        if tr.stack is not None:   # before the plan: its tensor-parallel rule is the stack's framework's
            from .. import stacks

            stacks.check_stack(tr.stack, self.hardware.accelerator, "training", where="training.stack")
        if plan:
            self._check_plan()
        from ..models import check_context

        check_context(self.model_spec, "training.seq_len", tr.seq_len, tr.seq_len)
        check_recompute_num_layers(tr.recompute_num_layers, layers=len(self.model_spec.layer_kinds()))
        peaks = self.hardware.accelerator_spec.peak_flops
        if tr.precision not in peaks:
            raise ValidationError(
                f"training.precision = {tr.precision!r}: {self.hardware.accelerator} has no {tr.precision} tensor "
                f"cores (no sourced dense {tr.precision} peak); allowed: "
                f"{', '.join(x for x in PRECISIONS if x in peaks)}")
        if tr.precision == "fp8" and tr.fp8_scaling == "block" and not self.hardware.accelerator_spec.mx_block_scaling:
            # torchao's MX recipes need block-scaled matrix instructions (catalog Accelerator.mx_block_scaling)
            raise ValidationError(
                f"training.fp8_scaling = 'block': {self.hardware.accelerator} has no block-scaled (MX) matrix "
                "instructions (they come with the FP4 ones: NVIDIA Blackwell, AMD CDNA 4; no sourced dense fp4 "
                "peak), so torchao's MXFP8 recipe does not run on it; allowed: 'tensor', 'row'")
        if tr.offload_modules is not None:
            # fine-grained activation offloading is Megatron-Core's (Megatron-LM and its ROCm forks)
            self._megatron_only(f"training.offload_modules = {list(tr.offload_modules)!r}",
                                "fine-grained activation offloading is Megatron-Core's")
        if tr.recompute_modules is not None:
            # --recompute-modules is Megatron-Core's selective recomputation; torchtitan's is per-op SAC
            # (a torchtitan run with modules was priced as Megatron's, step time and memory both moved)
            self._megatron_only(f"training.recompute_modules = {list(tr.recompute_modules)!r}",
                                "the modules are Megatron-Core's --recompute-modules",
                                " (or leave it out: the stack's own selective recomputation)")
        if tr.recompute_num_layers is not None:
            # the layers recomputed per pipeline chunk are Megatron's block method
            self._megatron_only(f"training.recompute_num_layers = {tr.recompute_num_layers}",
                                "the first N layers of each pipeline chunk recomputed is Megatron's "
                                "--recompute-method block --recompute-num-layers N", " (or leave it out: every layer)")
            if self.parallelism is not None and self.parallelism.ep_overlap:
                # Megatron-Core asserts recompute_num_layers is None with --overlap-moe-expert-parallel-comm:
                # https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_config.py#L1877-L1879
                raise ValidationError(f"training.recompute_num_layers = {tr.recompute_num_layers} with "
                                      "parallelism.ep_overlap = true: Megatron-Core refuses --recompute-num-layers "
                                      "with --overlap-moe-expert-parallel-comm; allowed: one of the two")
        if tr.fsdp_float8_all_gather:
            # torchao's float8 FSDP all-gather is torchtitan's (float8.enable_fsdp_float8_all_gather);
            # Transformer Engine stacks gather FP8 weights with training.fp8_param_gather
            self._torchtitan_only("training.fsdp_float8_all_gather",
                                  "torchao's float8 FSDP all-gather is torchtitan's (float8.enable_fsdp_float8_all_gather)",
                                  "Megatron-Core: training.fp8_param_gather")
        if tr.fp8_param_gather:
            # Megatron-Core's --fp8-param-gather keeps Transformer Engine's FP8 weights as the primary
            # copy; the model reads it through the stack's cached FP8 weight copy (fp8_caches_weights,
            # memory.fp8_weight_copy_bytes), which torchao and pre-FP8 Megatron-LM have not: there it
            # was read and ignored
            from .. import stacks

            if not stacks.params(self.stack).get("fp8_caches_weights", 0.0):
                fw = stacks.info(self.stack)["framework"]
                ok = [n for n in stacks.names("training") if stacks.params(n).get("fp8_caches_weights", 0.0)]
                other = ("; torchtitan's counterpart: training.fsdp_float8_all_gather "
                         "(float8.enable_fsdp_float8_all_gather)" if "torchtitan" in fw.lower()
                         else "; this stack has no counterpart")
                raise ValidationError(f"training.fp8_param_gather = true with training stack {self.stack!r} ({fw}): "
                                      "FP8 primary weights are Megatron-Core's --fp8-param-gather over Transformer "
                                      f"Engine; allowed stacks: {', '.join(ok)}{other}")
            if tr.precision != "fp8":
                # FP8 primary weights only mean something in FP8 training: with a 16-bit precision the
                # key was read and ignored (memory.fp8_weight_copy_bytes keeps no FP8 copy there)
                raise ValidationError(f"training.fp8_param_gather = true with training.precision = {tr.precision!r}: "
                                      "FP8 primary weights (Megatron-Core's --fp8-param-gather) need FP8 training; "
                                      "allowed: training.precision = 'fp8' (with fp8_scaling as the recipe), or "
                                      "fp8_param_gather = false")
        if tr.loss_compiled:
            # the loss under torch.compile is torchtitan's (compile.enable with the loss since its PR
            # #1033); Megatron stacks run vocab_parallel_cross_entropy eagerly or a fused kernel
            # (training.loss_fusion, --cross-entropy-loss-fusion)
            self._torchtitan_only("training.loss_compiled",
                                  "a loss compiled with the model is torchtitan's (torch.compile, pytorch/torchtitan "
                                  "PR #1033)",
                                  "Megatron-Core's counterpart: training.loss_fusion, --cross-entropy-loss-fusion")
        mm = self.multimodal
        if tr.data_mix is not None:
            tr.data_mix.check_for(mm)
        if tr.encoder is not None and mm is None:
            raise ValidationError(f"training.encoder = {tr.encoder!r}: the model is text-only (no vision or audio "
                                  "encoder); leave it out")

    def _torchtitan_only(self, key: str, why: str, counterpart: str) -> None:
        """Refuse ``key = true`` on a training stack whose framework is not torchtitan, naming the
        key, the stack and its framework, ``why`` (whose option it is), the torchtitan stacks and
        ``counterpart`` (the other frameworks' option)."""
        from .. import stacks

        fw = stacks.info(self.stack)["framework"]
        if "torchtitan" not in fw.lower():
            ok = [n for n in stacks.names("training") if "torchtitan" in stacks.info(n)["framework"].lower()]
            raise ValidationError(f"{key} = true with training stack {self.stack!r} ({fw}): {why}; allowed stacks: "
                                  f"{', '.join(ok)} ({counterpart})")

    def _megatron_only(self, setting: str, why: str, tail: str = "") -> None:
        """Refuse a Megatron-only training key (``setting``: "training.<key> = <value>") on a stack
        whose framework is not Megatron's, naming the stacks that take it."""
        from .. import stacks

        fw = stacks.info(self.stack)["framework"]
        if "megatron" not in fw.lower():
            ok = [n for n in stacks.names("training") if "megatron" in stacks.info(n)["framework"].lower()]
            raise ValidationError(f"{setting} with training stack {self.stack!r} ({fw}): {why}; allowed stacks: "
                                  f"{', '.join(ok)}{tail}")

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
        from ..memory.inference import check_training_tp, training_etp_accepted

        if not training_etp_accepted(p.etp, p.tp, p.ep, self.stack):
            raise ValidationError(
                f"parallelism.etp = {p.etp}: with ep = {p.ep} > 1 the training stack {self.stack!r} (torchtitan) "
                f"takes an expert tensor-parallel size of 1 or tp only; allowed etp = 1 or {p.tp}")
        check_training_tp(spec, p.tp, self.stack)   # heads, and KV heads as the stack's framework splits them
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
        from .. import stacks

        return stacks.default_stack(self.hardware.accelerator, "training")

    def _check_serving(self) -> None:
        sv, hw = self.serving, self.hardware
        if sv.gpus != hw.world_size:
            fix = (f" (e.g. dp = {hw.world_size // (sv.tp * sv.pp)})" if hw.world_size % (sv.tp * sv.pp) == 0
                   else "")
            raise ValidationError(
                f"serving: tp·pp·dp = {sv.tp}·{sv.pp}·{sv.dp} = {sv.gpus} GPUs, but [hardware] has "
                f"nodes × gpus_per_node = {hw.nodes} × {hw.gpus_per_node} = {hw.world_size}; they must be equal"
                f"{fix}; il.serve_search searches tp/pp/dp/ep itself but starts from a consistent split"
            )
        spec = self.model_spec
        if spec.arch != "transformer":
            raise ValidationError(
                f"[model] arch = {spec.arch!r}: serving models transformer layers (mha/gqa/mla/cca attention, "
                "dense or MoE); hybrid SSM models are not modelled"
            )
        from ..memory.inference import check_tp

        check_tp(spec, sv.tp, "serving.tp")   # heads, and KV heads divided or replicated (vLLM, SGLang)
        from ..models import check_context

        check_context(spec, "serving.input_tokens + serving.output_tokens",
                      f"{sv.input_tokens:,} + {sv.output_tokens:,}", sv.input_tokens + sv.output_tokens)
        media = (("images_per_request", sv.images_per_request, "vision"),
                 ("audio_s_per_request", sv.audio_s_per_request, "audio"))
        for key, amount, modality in media:
            if amount > 0 and (not _is_multimodal(self.model) or getattr(self.multimodal, modality) is None):
                from ..multimodal.specs import system, system_names

                # the example is a preset that has this encoder (qwen2.5-vl-7b was offered for audio)
                have = [n for n in system_names() if getattr(system(n), modality) is not None]
                raise ValidationError(
                    f"serving.{key} = {amount:g}: the [model] has no {modality} encoder; give a multimodal "
                    f"preset with one ({', '.join(repr(n) for n in have)}) or {modality} = \"<encoder preset>\" "
                    "in [model]")
        if sv.image_size is not None and sv.images_per_request == 0:
            raise ValidationError(f"serving.image_size = {sv.image_size!r}: only with images_per_request > 0")
        if sv.images_per_request or sv.audio_s_per_request:
            from ..multimodal.compute import check_encoder_call

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
            raise ValidationError(f"serving.pp = {sv.pp}: more stages than the model's {spec.layers} layers; "
                                  f"allowed 1..{spec.layers}")
        if sv.pp > 1 and sv.dp_attention:
            raise ValidationError("serving.pp > 1 with dp_attention = true: not modelled; use pp = 1")
        if sv.mtp_precision is not None and sv.spec_decoding != "mtp":
            # as mtp_acceptance: the draft modules run only with MTP (it used to be accepted and ignored)
            raise ValidationError(f"serving.mtp_precision = {sv.mtp_precision!r}: only with spec_decoding = 'mtp' "
                                  f"(spec_decoding = {sv.spec_decoding!r})")
        from ..serving.core import weight_precisions

        # the part's formats from the catalog's one owner (Accelerator.nvfp4_block_scaling /
        # mx_block_scaling for fp4, the compute model's supported() for fp8)
        have = weight_precisions(hw.accelerator)
        allowed = ", ".join(p for p in WEIGHT_PRECISIONS if p in have)
        for key in ("weight_precision", "attention_precision", "mtp_precision"):
            # every precision of the checkpoint needs the part's tensor cores: an fp4 attention or MTP
            # precision on MI300X / H100 held fp4 weights but ran the GEMMs at BF16, unannounced
            prec = getattr(sv, key)
            if prec is not None and prec not in have:
                raise ValidationError(
                    f"serving.{key} = {prec!r}: {hw.accelerator} has no {prec} tensor cores; allowed: {allowed}"
                    + (" (no NVFP4 or MXFP4 block-scaled matrix instructions: they come with NVIDIA Blackwell "
                       "and AMD CDNA 4)" if prec == "fp4" else "")
                    + (" (the model's MXFP4 experts stay MXFP4 at any weight_precision)"
                       if key == "weight_precision" and spec.expert_weight_format else "")
                )
        serving_stack(sv.engine, hw.accelerator)  # raises when the engine does not run on this platform
        if sv.stack is not None:
            from .. import stacks

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
        from .. import models

        return models.ModelSpec.from_dict(self.lm_model)

    @property
    def lm_model(self) -> dict:
        """The language model's [model] table: ``model`` itself for a text model; for a
        multimodal one (issue 20) the table without its vision/audio/adapter keys, with a
        multimodal preset replaced by its language model's preset."""
        if not _is_multimodal(self.model):
            return self.model
        from .. import multimodal

        return multimodal.split_model_table(self.model)[0]

    @functools.cached_property
    def multimodal(self):
        """The :class:`infra_lab.multimodal.MultimodalSpec` of a multimodal model, else None."""
        if not _is_multimodal(self.model):
            return None
        from .. import multimodal

        return multimodal.resolve_model(self.model)

    @classmethod
    def from_toml(cls, path: str | Path, *, check_plan: bool = True) -> Scenario:
        """Read a Scenario from a TOML file with the contract's tables (``check_plan`` as in
        :meth:`from_dict`). A string with a line break is read as TOML text, so
        ``Scenario.from_toml(sc.to_toml())`` round-trips; a file whose name ends ``.json`` is
        read as JSON with the same tables (``json.dump(sc.to_dict(), f)``: the same Scenario).

        Raises :class:`ValidationError` naming the file when it is missing, a folder,
        unreadable, not UTF-8 text or not valid TOML / JSON (as well as for any invalid table).

        Examples
        --------
        >>> import infra_lab as il
        >>> sc = il.load_scenario("zaya1-ibm-mi300x")
        >>> il.Scenario.from_toml(sc.to_toml()) == sc
        True
        """
        from .files import read_tables

        d = read_tables(path)
        if isinstance(path, str) and "\n" in path:   # TOML text, e.g. from to_toml()
            d.setdefault("name", "scenario")
            return cls.from_dict(d, check_plan=check_plan)
        d.setdefault("name", Path(path).stem)
        try:
            return cls.from_dict(d, check_plan=check_plan)
        except InfraLabError as e:   # an invalid table: say which file holds it
            raise type(e)(f"scenario file {Path(path).name}: {e}") from None

    def to_dict(self) -> dict:
        """Plain dict with every table; ``Scenario.from_dict(sc.to_dict()) == sc`` (of a scenario
        built with ``check_plan=False``: ``Scenario.from_dict(sc.to_dict(), check_plan=False)``;
        without a plan it has no "parallelism" key).

        Examples
        --------
        >>> import infra_lab as il
        >>> d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
        >>> sorted(d), d["hardware"]["accelerator"], d["parallelism"]["tp"]
        (['hardware', 'model', 'name', 'parallelism', 'training'], 'MI300X', 1)
        """
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
        ``Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc``.

        Examples
        --------
        >>> import infra_lab as il
        >>> print(il.load_scenario("zaya1-ibm-mi300x").to_toml().splitlines()[0])
        name = "zaya1-ibm-mi300x"
        """
        import tomli_w

        try:
            return tomli_w.dumps(_drop_none(self.to_dict(), ""))
        except (TypeError, ValueError) as e:  # a value TOML cannot hold (tomli-w's own message)
            raise ValidationError(f"scenario {self.name!r}: cannot be written to TOML ({e})") from None

    def _printout(self) -> str:
        """``print(sc)`` and a notebook's display: the scenario's tables as :meth:`to_toml` writes
        them, under a title naming it and its kind (the repr, which errors quote, stays the
        dataclass's one line)."""
        try:
            body = self.to_toml().rstrip()
        except ValidationError:   # a value TOML cannot hold: the tables as Python sees them
            body = repr(self.to_dict())
        return (f"Scenario {self.name!r} ({self.kind}): its tables as TOML\n"
                + "\n".join(f"  {line}" if line else "" for line in body.splitlines())
                + "\n  (exact values: the attributes, or .to_dict(); a file: .to_toml())")

    def replace(self, **tables: dict) -> Scenario:
        """A new validated Scenario with some keys changed, e.g.
        ``sc.replace(hardware={"nodes": 16}, parallelism={"tp": 2})``; ``model="<preset>"`` (a
        name alone, as :meth:`from_dict` takes it) replaces the whole [model] table by that
        preset, where ``model={...}`` changes the keys it names. Hardware keys held at
        the value the table derives (scaleup_domain, host_cpu, pxn, nic, nics_per_node,
        domain_gpus) follow a change of the keys they derive from unless named too
        (:func:`~infra_lab.scenario.hardware_table.updated_table`): another accelerator gets its
        own scale-up domain. Moved to another accelerator, a key the table gave that the new part
        cannot have is replaced by the part's own with a
        :class:`~infra_lab.errors.PartBoundWarning` naming the key, the old and the new value (a
        discrete host CPU, ZAYA1's Xeon 8570, on GB200/GB300, whose host is the superchip's Grace;
        a ``scaleup_domain`` or ``domain_gpus`` the new part refuses); the deployment's choices
        (nodes, gpus_per_node, nic, fabric, oversubscription, pxn, sharp, a discrete host on a
        part with a discrete host) stay, and one the new part refuses is refused with a
        ValidationError, as is an impossible value named in the change itself. A ZeRO stage held at the value ``fsdp`` derives (1, or 3 with FSDP)
        follows a change of ``fsdp`` unless named too
        (:func:`~infra_lab.scenario.parallelism_table.updated_plan`). Of a scenario built with
        ``check_plan=False`` (for il.search), a scenario built so, with its plan given or changed
        by ``parallelism={...}``.

        Parameters
        ----------
        **tables : table name (``model``, ``hardware``, ``training``, ``parallelism`` of a
            training scenario, ``serving`` of a serving one) → dict of its keys to change;
            ``name`` → the new name; ``model`` also takes a preset name

        Returns
        -------
        Scenario
            a new one; ``self`` is unchanged (a Scenario is frozen). ``copy.replace(sc, ...)``
            (Python ≥ 3.13) is the same call.

        Examples
        --------
        >>> import infra_lab as il
        >>> sc = il.load_scenario("zaya1-ibm-mi300x")
        >>> big = sc.replace(hardware={"nodes": 256}, training={"global_batch": 4096})
        >>> big.hardware.world_size, big.parallelism.dp, sc.hardware.world_size
        (2048, 2048, 1024)
        >>> sc.replace(hardware={"nodes": 0})
        Traceback (most recent call last):
        ...
        infra_lab.errors.ValidationError: ...nodes...
        """
        unchecked = bool(self.__dict__.get("_plan_unchecked"))
        d = self.to_dict()
        if unchecked and self.training is not None:
            d.setdefault("parallelism", {})
        for table, upd in tables.items():
            if table == "name":
                d["name"] = upd
                continue
            if table not in d:
                head, dot, key = table.partition(".")
                if dot and head in d and head != "name":
                    # sc.replace(**{"hardware.nodes": 64}): a dotted key, as the errors name fields
                    raise ValidationError(
                        f"replace: {table!r} = {upd!r} is a dotted key; replace takes a table of the keys to "
                        f"change: sc.replace({head}={{{key!r}: {upd!r}}})")
                valid = [t for t in d if t != "name"] + ["name"]
                raise unknown("table", table, valid, where=f"this {self.kind} scenario")
            if table == "model" and isinstance(upd, str):
                # a preset's name alone, as from_dict takes {"model": "zaya1-base"}: the whole
                # [model] table becomes that preset (a dict changes only the keys it names)
                d["model"] = upd
                continue
            if not isinstance(upd, dict):
                raise ValidationError(f"replace({table}={upd!r}): expected a dict of the [{table}] keys to "
                                      f"change, e.g. replace({table}={{{next(iter(d[table]), 'key')!r}: ...}})")
            # the hardware keys derived from the changed ones follow them (hardware_table.updated_table),
            # and so does a ZeRO stage held at the value fsdp derives (parallelism_table.updated_plan)
            d[table] = (updated_table(d[table], upd) if table == "hardware"
                        else updated_plan(d[table], upd) if table == "parallelism" else {**d[table], **upd})
        if unchecked and self.parallelism is None and "parallelism" not in tables:
            del d["parallelism"]
        return Scenario.from_dict(d, check_plan=not unchecked)

    __replace__ = replace   # copy.replace(sc, hardware={...}) on Python >= 3.13

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
    d = {k: v for k, v in d.items() if k != "dp"}   # derived (checked with the plan); the search enumerates it
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
    if isinstance(v, ParallelismConfig):
        return v.given_table()     # with a dp the caller gave, checked against the derived one
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
        from .. import models

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
