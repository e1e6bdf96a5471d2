"""Pipeline layout: which layers and parameters each pipeline rank holds and how many
micro-batches it keeps in flight.

Owns :func:`inflight_microbatches`, :func:`pipeline_chunks` (the model cut into pp·vp chunks),
:func:`chunk_rank` (the rank that holds each chunk: interleaved, or in a V for the
:data:`V_SCHEDULES`), :func:`inflight_chunks` (a V rank's in-flight micro-batches per chunk), :func:`stage_layers` (the layers of each rank, and which of them full recompute re-runs),
:func:`stage_candidates` (the distinct stage shapes with their parameters, at most
:data:`MAX_STAGE_CANDIDATES`) and the parameter groups spread over the stages.
"""

from __future__ import annotations

import functools
import math

from .. import _validate as V
from ..errors import ValidationError, check_positive
from ..scenario import check_recompute_num_layers


def inflight_microbatches(pp: int, vp: int = 1, microbatches: int | None = None,
                          schedule: str | None = None) -> float:
    """Micro-batches whose activations the first pipeline stage holds at its peak [-], in units
    of the stage's layers × one micro-batch.

    1F1B: pp; interleaved (vp > 1): pp + (pp − 1)/vp (Korthikanti's 1 + (p−1)/(p·m) on L
    layers); capped by the micro-batches of a step. ``schedule`` (a name of
    :data:`infra_lab.scenario.PP_SCHEDULES`; None: 1F1B or interleaved by vp): "zb-h1" holds
    1F1B's pp, the V schedules (vp = 2) pp ("zbv"), ⌊(pp + 2)/2⌋ ("v-half") and ⌊(pp + 4)/3⌋
    ("v-min") (Qi et al. 2024, https://arxiv.org/abs/2405.15362;
    :func:`infra_lab._kernels.memory.inflight_schedule`, the formula the step model uses for
    1F1B, interleaved and ZB-H1). The V schedules' counts here are the closed forms of the
    paper, a rank's total with enough micro-batches; :func:`infra_lab.memory.training_memory`
    and the step model price each of a V rank's chunks at its own count from the order
    (:func:`inflight_chunks`).

    Examples
    --------
    >>> inflight_microbatches(8, 3)
    10.333333333333334
    >>> [inflight_microbatches(8, 2, schedule=s) for s in ("zbv", "v-half", "v-min")]
    [8.0, 5.0, 4.0]
    """
    from ..scenario import PP_SCHEDULES
    from ..scenario._checks import _enum

    check_positive("pp", pp, integer=True)
    check_positive("vp", vp, integer=True)
    if schedule is not None:
        schedule = _enum("schedule", schedule, PP_SCHEDULES)
    if schedule not in (None, "1f1b", "interleaved"):
        from .._kernels.memory import inflight_schedule

        f = float(inflight_schedule(PP_SCHEDULES.index(schedule), float(pp), float(vp), 0.0, math.inf))
    else:
        f = float(pp) if vp == 1 else pp + (pp - 1) / vp
    if microbatches is not None:
        f = min(f, float(V.integer("microbatches", microbatches)))
    return f


def inflight_chunks(pp: int, microbatches: float, schedule: str) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Micro-batches whose activations each chunk of a V-schedule rank holds at the rank's peak,
    read from the order the schedule runs: per rank r, the two ends ((n0, n1) with the most
    first-chunk forwards, (n0, n1) with the most second-chunk forwards) of the points of its
    step where n0 + n1 is largest [-]; n0 counts the rank's first (down-going) chunk r, n1 its
    second chunk 2·pp − 1 − r (:func:`chunk_rank`).

    A chunk's forward holds one micro-batch's activations of that chunk until its
    weight-gradient pass (Primus' ``memory_delta`` F +1, B 0, W −1 in
    ``scheduler/algorithms/zbv_greedy.py`` at 78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_greedy.py);
    the orders are those the step model replays (:func:`infra_lab._kernels.training.schedule_program`:
    Primus' ``ScheduleZBVFormatted`` for "zbv", PyTorch's ``ScheduleZBVZeroBubble`` being the same
    order, and the greedy ``ScheduleZBVGreedy`` for "v-half" / "v-min"), at the step's micro-batch
    count rounded (at least 1). Every point of a rank's step holds no more of both chunks than
    some point between the two ends, so a rank whose chunks keep a0 and a1 bytes per micro-batch
    peaks at max(n0·a0 + n1·a1) over the two (:func:`infra_lab._kernels.memory.v_chunk_peak`).
    With enough micro-batches (m >= 2·pp) n0 + n1 is 2·:func:`inflight_microbatches` on every
    rank, but the split is uneven: under ZBV rank r holds (2·pp − 1 − r, r + 1) or
    (2·pp − r, r), so rank 0 keeps nearly all of them on its first chunk (which holds the
    embedding) and one on its second (the output layer, the loss and any MTP modules).

    >>> inflight_chunks(4, 32, "zbv")
    [((8.0, 0.0), (7.0, 1.0)), ((7.0, 1.0), (6.0, 2.0)), ((6.0, 2.0), (5.0, 3.0)), ((5.0, 3.0), (4.0, 4.0))]
    >>> [a[0] + a[1] for a, _ in inflight_chunks(8, 32, "v-min")]
    [8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0]

    Parameters
    ----------
    microbatches : micro-batches per step [-]
    schedule : a V schedule: 'zbv', 'v-half' or 'v-min'

    Examples
    --------
    >>> import infra_lab as il
    >>> ends = il.memory.inflight_chunks(4, 8, "zbv")    # one ((n0, n1), (n0, n1)) per pipeline rank
    >>> len(ends), ends[0]
    (4, ((8.0, 0.0), (7.0, 1.0)))
    """
    from ..fabric import constant
    from ..scenario import PP_SCHEDULES
    from ..scenario._checks import _enum

    # bounded as the Scenario bounds them (pp GPUs, micro-batches at most global_batch's 2**24):
    # past them the schedule's table would not fit in memory (pp = 2**40: 600 TiB)
    V.integer("pp", pp, hi=int(constant("max_world_gpus")))
    m = V.number("microbatches", microbatches, lo=0.0, lo_open=True, hi=2.0**24,
                 allowed="a number in (0, 16,777,216] (2**24, the bound of the global batch)")
    schedule = _enum("schedule", schedule, PP_SCHEDULES)
    if schedule not in V_SCHEDULES:
        raise ValidationError(f"schedule = {schedule!r}: inflight_chunks is for the V schedules; "
                              f"allowed {', '.join(map(repr, V_SCHEDULES))}")
    from .._kernels.training import micro_batches_int

    return list(_inflight_chunks(PP_SCHEDULES.index(schedule), int(pp), micro_batches_int(m)))


@functools.lru_cache(maxsize=256)
def _inflight_chunks(sched: int, pp: int, mk: int) -> tuple:
    import numpy as np

    from .._kernels import training as kt

    if pp == 1:
        return (((float(mk), 0.0), (float(mk), 0.0)),)
    # the step kernel's own table of this key (executed_table: the compact program, then each
    # rank's chunk-forwards at its peak, chunk_inflight_peaks)
    kp, km = np.array([pp], np.int64), np.array([mk], np.int64)
    xoff = kt._x_offsets(kp, np.array([0, 6 * mk * pp], np.int64))
    progs = np.empty((int(xoff[-1]), kt.COMPACT_COLS), np.int32)
    kt.fill_programs(np.int64(sched), kp, km, np.ones(1, np.int64), xoff, np.array([0], np.int64), progs)
    return tuple(((float(t - a), float(a)), (float(t - b), float(b))) for t, a, b in progs[-pp:])


MAX_STAGE_CANDIDATES = 8
"""At most this many distinct pipeline-stage shapes are evaluated per plan."""

V_SCHEDULES = ("zbv", "v-half", "v-min")
"""The pipeline schedules (:data:`infra_lab.scenario.PP_SCHEDULES` names) that lay a rank's two
chunks out in a V: chunk 0 runs down from rank 0 to pp − 1 and chunk 1 back from rank pp − 1 to
0, so rank r holds model chunks r and 2·pp − 1 − r, and rank 0 the first and the last (Qi et
al. 2024, "Zero Bubble Pipeline Parallelism", §6 and Figure 8, https://arxiv.org/abs/2401.10241;
the zero-bubble repository's ``zbv.py`` / Primus' ``zbv_formatted.py`` build the model chunks
that way)."""


def _v_shaped(schedule, vp: int) -> bool:
    """True when ``schedule`` (a PP_SCHEDULES name or None) lays its chunks out in a V."""
    if schedule is None:
        return False
    from ..scenario import PP_SCHEDULES
    from ..scenario._checks import _enum

    schedule = _enum("schedule", schedule, PP_SCHEDULES)
    if schedule not in V_SCHEDULES:
        return False
    if vp != 2:
        raise ValidationError(f"schedule = {schedule!r} with vp = {vp}: a V schedule runs two chunks per "
                              f"rank; allowed vp = 2")
    return True


def chunk_rank(chunk: int, pp: int, vp: int = 1, schedule: str | None = None) -> int:
    """The pipeline rank that holds model chunk ``chunk`` (0 … pp·vp − 1, in model order):
    chunk mod pp (the interleaved schedule, and 1F1B / ZB-H1 with one chunk per rank), or, for
    a V schedule (:data:`V_SCHEDULES`), ``chunk`` for the first pp chunks and 2·pp − 1 −
    ``chunk`` for the second.

    >>> [chunk_rank(c, 4, 2) for c in range(8)], [chunk_rank(c, 4, 2, "zbv") for c in range(8)]
    ([0, 1, 2, 3, 0, 1, 2, 3], [0, 1, 2, 3, 3, 2, 1, 0])
    """
    return _rank_of(chunk, pp, _v_shaped(schedule, vp))


def _rank_of(chunk: int, pp: int, v_shape: bool) -> int:
    return 2 * pp - 1 - chunk if (v_shape and chunk >= pp) else chunk % pp


def pipeline_chunks(spec, pp: int, vp: int = 1, schedule: str | None = None) -> list[dict]:
    """The model's layers cut into pp·vp pipeline chunks (virtual stages), in model order:
    one dict per chunk with ``chunk`` (its index), ``rank`` (the pipeline rank that holds
    it: :func:`chunk_rank` under ``schedule``, a :data:`infra_lab.scenario.PP_SCHEDULES` name;
    None: chunk mod pp, the interleaved schedule) and ``kinds`` (its layers' kinds, in model
    order). The cut is :func:`stage_layers`'s (see there).

    Examples
    --------
    >>> import infra_lab as il
    >>> [len(c["kinds"]) for c in pipeline_chunks(il.models.get("llama3-70b"), 4, 2)]
    [10, 10, 10, 10, 10, 10, 10, 10]
    >>> [c["rank"] for c in pipeline_chunks(il.models.get("llama3-70b"), 4, 2, schedule="v-half")]
    [0, 1, 2, 3, 3, 2, 1, 0]
    """
    check_positive("pp", pp, integer=True)
    check_positive("vp", vp, integer=True)
    v_shape = _v_shaped(schedule, vp)
    kinds = spec.layer_kinds()
    L = len(kinds)
    n_chunks = pp * vp
    if n_chunks > L + 2:
        raise ValidationError(f"parallelism.pp·vp = {pp}·{vp} = {n_chunks}: more pipeline chunks than the "
                              f"model's {L} layers plus the embedding and loss chunks; allowed pp·vp <= {L + 2}")
    if n_chunks > L:
        # Megatron-Core's --account-for-embedding/loss-in-pipeline-split: the first chunk
        # holds only the embedding (and the last only the output layer and loss)
        sizes = [1] * n_chunks
        sizes[0] = 0
        if n_chunks == L + 2:
            sizes[-1] = 0
    else:
        base, extra = divmod(L, n_chunks)
        centre = (n_chunks - 1) / 2.0
        bigger = set(sorted(range(n_chunks), key=lambda i: (abs(i - centre), i))[:extra])
        sizes = [base + (1 if i in bigger else 0) for i in range(n_chunks)]
    out, start = [], 0
    for ch, sz in enumerate(sizes):
        out.append({"chunk": ch, "rank": _rank_of(ch, pp, v_shape), "kinds": list(kinds[start: start + sz])})
        start += sz
    return out


def stage_layers(spec, pp: int, vp: int = 1, *, recompute_num_layers: int | None = None,
                 schedule: str | None = None) -> list[dict[str, int]]:
    """Layers of each pipeline rank when pp·vp need not divide the layer count.

    The L layers are cut into pp·vp contiguous chunks as evenly as possible; the L mod
    (pp·vp) chunks that get one extra layer are the ones nearest the middle of the model,
    because the first and last stages also carry the embedding and the output layer (as
    Llama 3 did: one layer fewer on the first and the last stage); pp·vp may exceed the
    layers by one or two chunks that hold only the embedding / the output layer and loss
    (Megatron-Core's account-for-embedding/loss-in-pipeline-split). Rank r holds chunks
    r, r + pp, … (the interleaved schedule, and one chunk per rank under 1F1B / ZB-H1); under a
    V schedule (``schedule`` in :data:`V_SCHEDULES`, vp = 2) chunks r and 2·pp − 1 − r
    (:func:`chunk_rank`). The embedding is on the rank of the first chunk (rank 0), the output
    layer and loss on the rank of the last chunk: rank pp − 1, or rank 0 under a V schedule,
    which then holds both (Qi et al. 2024, §6, https://arxiv.org/abs/2401.10241).

    ``recompute_num_layers`` (full recompute, Megatron's block method): the first
    min(N, layers of the chunk) layers of each of the rank's chunks are recomputed whole in
    backward. Megatron-Core builds one ``TransformerBlock`` per chunk and its
    ``_checkpointed_forward`` checkpoints layer ``layer_idx`` while ``layer_idx <
    recompute_num_layers`` over ``range(len(self.layers))``, so a value above a chunk's
    layers recomputes all of them (no error):
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_block.py#L544-L565
    (core_v0.16.0). None: every layer.

    Returns
    -------
    list of dict per rank: rank, n_dense (dense-like layers: dense, Mamba2, hybrid),
    n_moe, has_embedding, has_head, n_dense_recomputed, n_moe_recomputed (the layers
    of each kind that full recompute re-runs: all of them unless ``recompute_num_layers``),
    and ``chunks``: the same six counts (n_dense, n_moe, has_embedding, has_head,
    n_dense_recomputed, n_moe_recomputed) per chunk the rank holds, in the order it holds them
    (a tuple of vp tuples: chunks r, r + pp, … interleaved; r and 2·pp − 1 − r in a V, the
    down-going chunk first). The executed V schedules price each chunk at its own times from
    these (:func:`infra_lab.training.context._stage_tables`).

    ``schedule``: a :data:`infra_lab.scenario.PP_SCHEDULES` name (None: 1F1B / interleaved).

    Examples
    --------
    >>> import infra_lab as il
    >>> st = stage_layers(il.models.get("llama3.1-405b"), 8, 8)      # 126 layers on 64 chunks
    >>> sorted({s["n_dense"] for s in st}), sum(s["n_dense"] for s in st)
    ([15, 16], 126)
    >>> [(s["has_embedding"], s["has_head"]) for s in stage_layers(il.models.get("llama3-8b"), 4, 2, schedule="zbv")]
    [(1, 1), (0, 0), (0, 0), (0, 0)]
    """
    n_rc = check_recompute_num_layers(recompute_num_layers, "recompute_num_layers")
    chunks = pipeline_chunks(spec, pp, vp, schedule)
    head_rank = chunks[-1]["rank"]
    out = [{"rank": r, "n_dense": 0, "n_moe": 0, "has_embedding": int(r == chunks[0]["rank"]),
            "has_head": int(r == head_rank), "n_dense_recomputed": 0, "n_moe_recomputed": 0} for r in range(pp)]
    held: list[list[tuple[int, ...]]] = [[] for _ in range(pp)]
    for ch in chunks:
        st = out[ch["rank"]]
        kinds = ch["kinds"]
        rc = kinds if n_rc is None else kinds[:n_rc]    # the chunk's first n_rc layers (n_rc >= 1)
        n_moe, n_moe_rc = kinds.count("moe"), rc.count("moe")
        c = {"n_dense": len(kinds) - n_moe, "n_moe": n_moe, "n_dense_recomputed": len(rc) - n_moe_rc,
             "n_moe_recomputed": n_moe_rc}
        for k, v in c.items():
            st[k] += v
        held[ch["rank"]].append((c["n_dense"], c["n_moe"], int(ch["chunk"] == 0), int(ch["chunk"] == len(chunks) - 1),
                                 c["n_dense_recomputed"], c["n_moe_recomputed"]))
    for r in range(pp):     # in model order: in a V, chunk r (down) before 2·pp − 1 − r (back)
        out[r]["chunks"] = tuple(held[r])
    return out


def stage_candidates(spec, pp: int, vp: int = 1, *, first_stage_params: float = 0.0,
                     per_layer_params: float = 0.0, recompute_num_layers: int | None = None,
                     schedule: str | None = None, by_chunks: bool = False) -> list[dict[str, float]]:
    """Distinct pipeline-stage shapes (the slowest and the most loaded stage are among
    them), each with its parameters: :func:`stage_layers` rows deduplicated by (n_dense,
    n_moe, has_embedding, has_head, n_dense_recomputed, n_moe_recomputed; under a V schedule
    also ``chunks``, each chunk's counts), keeping the lowest
    rank (most in-flight micro-batches) and rank pp − 1 (the last stage) apart, plus
    p_nonexpert, p_expert and p_embedding [params] of the stage before sharding and ``ranks``
    (the tuple of pipeline ranks that have this shape: the bubble prices each rank at its
    own times). ``recompute_num_layers``, ``schedule``: as
    :func:`stage_layers` (None: every layer is recomputed under full recompute; 1F1B /
    interleaved layout). ``by_chunks``: ranks whose chunks differ are distinct shapes even
    with the same totals (as always under a V schedule): the interleaved schedule executed per
    chunk (:func:`infra_lab.estimate`) reads each candidate's chunks.

    Non-expert parameters per layer: the model's attention, norm and other per-layer
    parameters spread evenly over its layers, plus the dense MLP on dense-like layers and
    the router and shared experts on MoE layers; routed experts on MoE layers. The input
    embedding sits on rank 0; the output layer (a copy of the tied embedding when pp > 1)
    and the multi-token-prediction modules (``spec.params_mtp``, routed experts counted as
    expert parameters) on the rank of the last chunk (``has_head``).

    Multimodal models (issue 20, :mod:`infra_lab.multimodal`): ``first_stage_params``
    (trainable encoders, projectors, extra embedding rows) join rank 0's non-expert and
    embedding parameters (their gradients complete with the embedding's, at the end of
    backward); ``per_layer_params`` (cross-attention layers) join every layer [params].
    """
    extra0 = float(check_positive("first_stage_params", first_stage_params, allow_zero=True))
    extra_l = float(check_positive("per_layer_params", per_layer_params, allow_zero=True))
    grp = _param_groups_detailed(spec)
    kinds = spec.layer_kinds()
    L = len(kinds)
    n_moe_all = sum(1 for k in kinds if k == "moe")
    n_d_all = L - n_moe_all
    per_layer = grp["per_layer"] / L
    per_dense = grp["mlp"] / n_d_all if n_d_all else 0.0
    per_moe = grp["moe_other"] / n_moe_all if n_moe_all else 0.0
    per_exp = grp["experts"] / n_moe_all if n_moe_all else 0.0
    # multi-token-prediction modules (DeepSeek-V3: not in params_total), on the stage with the
    # output layer (DeepSeek-V3 report §2.2; Megatron-Core places MTP in the last stage: the last
    # chunk's rank, rank 0 under a V schedule); their routed experts shard like a MoE layer's
    mtp_total = float(spec.params_mtp)
    mtp_exp = spec.mtp_layers * per_exp if (mtp_total and spec.mtp_layer_kind() == "moe") else 0.0
    seen: dict[tuple, dict] = {}
    layers = stage_layers(spec, pp, vp, recompute_num_layers=recompute_num_layers, schedule=schedule)
    v_shape = _v_shaped(schedule, vp)
    head_rank = next(st["rank"] for st in layers if st["has_head"])
    for st in layers:
        # rank pp - 1 stays its own candidate (training_memory's pipeline_rank="last"): under a V
        # schedule it holds neither the embedding nor the output layer
        # in a V the executed schedules price each chunk apart: ranks whose chunks differ are
        # distinct shapes even with the same totals
        key = (st["n_dense"], st["n_moe"], st["has_embedding"], st["has_head"], st["n_dense_recomputed"],
               st["n_moe_recomputed"], st["rank"] == pp - 1, st["chunks"] if (v_shape or by_chunks) else None)
        if key in seen:
            seen[key]["ranks"] += (st["rank"],)
            continue
        emb = grp["embedding"] if st["has_embedding"] else 0.0
        head = 0.0
        if st["has_head"]:
            head = grp["lm_head"] if grp["lm_head"] > 0 else (grp["embedding"] if pp > 1 else 0.0)
        p_ne = (st["n_dense"] * (per_layer + per_dense) + st["n_moe"] * (per_layer + per_moe) + emb + head)
        p_ex = st["n_moe"] * per_exp
        if st["has_head"] and mtp_total:   # MTP modules sit with the output layer (last stage)
            p_ne += mtp_total - mtp_exp
            p_ex += mtp_exp
        if extra0 or extra_l:   # multimodal (issue 20); exactly the text-model values otherwise
            if st["has_embedding"]:
                emb += extra0
                p_ne += extra0
            p_ne += (st["n_dense"] + st["n_moe"]) * extra_l
        seen[key] = {**st, "p_nonexpert": p_ne, "p_expert": p_ex, "p_embedding": emb,
                     "p_head": head, "ranks": (st["rank"],)}
    cands = list(seen.values())
    if len(cands) > MAX_STAGE_CANDIDATES:
        keep = {0, pp - 1, head_rank}
        order = sorted(cands, key=lambda c: -(c["p_nonexpert"] + c["p_expert"] + c["n_dense"] + c["n_moe"]))
        chosen = [c for c in cands if c["rank"] in keep]
        for c in order:
            if len(chosen) >= MAX_STAGE_CANDIDATES:
                break
            if c not in chosen:
                chosen.append(c)
        cands = sorted(chosen, key=lambda c: c["rank"])
    return cands


def _param_groups_detailed(spec) -> dict[str, float]:
    """Parameters split for pipeline stages: embedding, lm_head, routed experts, the dense
    MLP (dense-like layers), router + shared experts (MoE layers) and the rest per layer.
    A new dict per call; the values are kept per spec (a plan search reads them for every
    (pp, vp) it lays out)."""
    return dict(_param_groups_detailed_cached(spec))


@functools.lru_cache(maxsize=1024)
def _param_groups_detailed_cached(spec) -> tuple[tuple[str, float], ...]:
    return tuple(_param_groups_detailed_of(spec).items())


def _param_groups_detailed_of(spec) -> dict[str, float]:
    bd = {r["component"]: float(r["params_total"]) for r in spec.param_breakdown().iter_rows(named=True)}
    emb = bd.get("embeddings", 0.0) + bd.get("position_embeddings", 0.0)
    head = bd.get("lm_head", 0.0)
    experts = bd.get("experts", 0.0)
    mlp = bd.get("mlp", 0.0)
    moe_other = bd.get("router", 0.0) + bd.get("shared_experts", 0.0)
    rest = sum(bd.values()) - emb - head - experts - mlp - moe_other
    if not any(k == "moe" for k in spec.layer_kinds()):
        rest += moe_other
        moe_other = 0.0
    return {"embedding": emb, "lm_head": head, "experts": experts, "mlp": mlp, "moe_other": moe_other,
            "per_layer": rest}


def _param_groups(spec) -> dict[str, float]:
    """Parameters split into embedding, lm_head, experts (routed) and other layer params."""
    bd = {r["component"]: float(r["params_total"]) for r in spec.param_breakdown().iter_rows(named=True)}
    emb = bd.get("embeddings", 0.0) + bd.get("position_embeddings", 0.0)
    head = bd.get("lm_head", 0.0)
    experts = bd.get("experts", 0.0)
    layers = sum(bd.values()) - emb - head - experts
    return {"embedding": emb, "lm_head": head, "experts": experts, "layers": layers}
