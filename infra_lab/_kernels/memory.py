"""Training memory per GPU: the one formula, as a numba kernel.

:func:`training_bytes` is called by :func:`infra_lab.memory.training_memory` (which builds
its inputs from a Scenario and returns the breakdown frame) and by the training step
kernel (:mod:`infra_lab._kernels.training`, once per plan and pipeline-stage candidate).
:func:`training_bytes_reference` is an independent plain-Python statement of the same
physics (written per component from the ZeRO paper's sharding rules, not a copy of the
kernel's arithmetic); ``tests/test_memory.py`` checks that they agree.
:func:`stage_memory` (a stage's activations from :func:`stage_activations`, then
:func:`training_bytes`) has its own: :func:`stage_memory_reference` over
:func:`stage_activations_reference`, written per module kind (``tests/test_stage_memory_reference.py``).

Inputs (all floats; bytes, parameters, counts):

``p_ne``, ``p_e``   non-expert and routed-expert parameters of the pipeline stage, before
                    tensor/expert sharding [params]
``emb``             embedding (+ LM head) parameters held by this stage [params]
``tp``, ``ep``, ``etp``  tensor, expert and expert-tensor parallel sizes [-]
``g_ne``, ``g_e``   data-parallel group sizes for non-expert (dp·cp) and expert
                    (tp·cp·dp/(ep·etp)) parameters: the ranks ZeRO shards over [-]
``zero``, ``fsdp``  ZeRO stage 0..3; FSDP (full sharding, priced like ZeRO-3): 0 none, 1 FSDP
                    keeping a 16-bit weight shard beside the optimizer's fp32 master (Megatron's
                    16-bit modules, Megatron-FSDP; ZeRO's accounting), 2 FSDP whose shards are the
                    fp32 masters themselves (PyTorch FSDP2 over fp32 parameters with a
                    ``MixedPrecisionPolicy``: the 16-bit weights exist only gathered, so the
                    sharded weights add nothing beyond the master counted in ``ob``; the stack's
                    ``fsdp_fp32_sharded_params``)
``wb``, ``gb``, ``ob``  weight, gradient-buffer and optimizer-state bytes per parameter
``layers``          transformer layers of the stage (ZeRO-3 gathers two layers) [-]
``act``             activation bytes of the stage's in-flight micro-batches [bytes]
``work``            recompute working set (one layer re-materialised) [bytes]
``head_act``        embedding/LM-head activations (logits) [bytes]
``reserve``         allocator reserve [bytes] (:func:`allocator_reserve` of the other components)
``wq``              bytes per parameter of a second, low-precision copy of the non-embedding
                    weights kept beside the working weights (FP8 training: Transformer Engine's
                    cached FP8 weights; 0 otherwise), held only where the weights are not
                    ZeRO-3/FSDP-sharded [bytes/param]
``cp_attn``         transient buffers of one layer's context-parallel attention
                    (:func:`cp_attention_bytes`) [bytes]; counted beyond ``head_act`` only
                    (:func:`cp_buffers_at_peak`)
``rsb``             bytes per parameter of the reduce-scatter input PyTorch FSDP2 keeps from one
                    FSDP unit's backward to the next's (its reduce dtype; 0 where the stage is not
                    sharded by FSDP2: :func:`infra_lab.memory.fsdp_reduce_scatter_bytes`), read
                    only where the weights are fully sharded (:func:`fsdp_reduce_scatter_buffer`)
``p_head``          output-layer (+ final norm) parameters of the stage, before tensor sharding,
                    when they are an FSDP unit of their own (untied output layer) [params]
``ugq``             which FSDP's unsharded gradients are in flight beside the held reduce-scatter
                    input (:func:`fsdp_unsharded_grads`): 0 = PyTorch FSDP2 (one layer unit's),
                    > 0 = Megatron-FSDP's reduce-scatter queue capacity [params]
                    (:func:`infra_lab.memory.fsdp_grad_queue_params`); read only fully sharded
``agb``             bytes per parameter of the gathered layers' non-expert weights (the current
                    and the prefetched FSDP unit, ``zero3_gather_buffer``): ``wb``, or 1 with
                    torchao's float8 FSDP all-gather (:func:`infra_lab.memory.fsdp_gather_bytes`);
                    routed experts gather at ``wb``; read only fully sharded

Returns the tuple of :data:`MEM_NAMES` component bytes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MEM_NAMES = ("weights", "gradients", "optimizer_states", "zero3_gather_buffer", "fsdp_reduce_scatter_buffer",
             "fsdp_unsharded_grads", "activations", "recompute_working_set", "embedding_and_head_activations",
             "cp_attention_buffers", "allocator_reserve")
(M_WEIGHTS, M_GRADS, M_OPTIM, M_GATHER, M_RS, M_UG, M_ACT, M_WORK, M_HEAD, M_CP, M_RESERVE) = range(len(MEM_NAMES))
M_STATIC = M_UG + 1
"""The components before ``M_STATIC`` do not depend on the micro-batch (the step kernel's static bytes)."""
N_MEM = len(MEM_NAMES)


@njit(cache=True)
def allocator_reserve(tensor_bytes, fixed, fraction):
    """Memory outside the model's tensors [bytes]: ``fixed`` bytes the framework's caching
    allocator does not hold (CUDA/HIP context, NCCL/RCCL communicator buffers) plus the
    caching allocator's reserved-but-unallocated blocks, ``fraction`` of the tensor bytes it
    serves (fragmentation grows with what is allocated, not with the device's capacity;
    PyTorch CUDA memory management: https://pytorch.org/docs/stable/notes/cuda.html#memory-management)."""
    return fixed + fraction * tensor_bytes


FP32_BYTES = 4.0
"""Bytes of an fp32 element: PyTorch context_parallel accumulates and merges in fp32."""


@njit(cache=True)
def cp_attention_bytes(cp, allgather, tok, hq, hkv, tp, ab):
    """Transient buffers of one layer's context-parallel attention on one GPU [bytes]: the
    larger of its forward and its backward, 0 for cp = 1 or the P2P ring (``allgather`` = 0;
    ``allgather`` is ``parallelism.cp_rotate``'s index in ``scenario.CP_ROTATE_METHODS``).

    ``allgather`` = 2, the exposed all-gather (Llama 3's CP, Llama 3 paper §3.3.2,
    https://arxiv.org/abs/2407.21783; the buffers as Transformer Engine's
    ``AttnFuncWithCPAndKVAllGather``, which cites it, allocates them): the forward holds the
    all-gathered K/V of every rank (cp x the local K/V); the backward gathers them again and
    accumulates dK/dV over the whole sequence in the K/V precision before reduce-scattering
    them into the local dK/dV: cp x + cp x + 1 x the local K/V. Not counted: the copies a
    re-ordering of the gathered chunks may make, the attention kernel's own outputs.

    ``allgather`` = 1:

    PyTorch's experimental ``context_parallel`` with the all-gather rotater
    (torch/distributed/tensor/experimental/_attention.py, Dec 2024 - Jan 2025:
    ``_AllGatherRotater``, ``_templated_ring_attention[_backward]``, ``_SDPAMerger`` with
    ``convert_to_f32=True``). Per pass it all-gathers every rank's concatenated K and V once
    and keeps the gathered buffer (cp x the local K/V) for the whole ring loop, and still
    concatenates the local K/V into a fresh send buffer at every step (``torch.cat`` before
    ``exchange_buffers``, unused after the first). The forward merges each step's output into
    an fp32 accumulator: at the merge the old accumulator, the step's output converted to
    fp32 and two fp32 temporaries of the update (``out - block_out`` and its product with the
    sigmoid weight) are live, four output-sized fp32 tensors. The backward keeps fp32 dQ,
    and fp32 dK/dV that travel round the ring by all-to-all every step: at a step's exchange
    the received dK/dV being accumulated, the concatenated copy being sent and the next
    receive buffer are live, three fp32 dK/dV-sized tensors. The per-step bf16 dQ/dK/dV and
    outputs of the attention kernel are not counted (a cp = 1 attention makes them too).

    tok : tokens of the micro-batch on this rank (mbs x s / cp); hq : query / output width
    per token (heads x head dim, before tp) [elements]; hkv : the K/V width the exchange
    carries per token (KV heads', or the query heads' when K/V are repeated) [elements];
    ab : bytes of the exchanged K/V elements.
    APPROXIMATION: the layer's buffers meet at one instant (the allocator's peak may fall
    between them); flash-kernel workspaces and the small LSE tensors are not counted."""
    if cp <= 1.0 or allgather < 0.5:
        return 0.0
    kv = tok * 2.0 * hkv * ab / tp                  # local K and V
    if allgather > 1.5:                             # gathered K/V, full dK/dV, local dK/dV
        return cp * kv + cp * kv + kv
    q32 = tok * hq * FP32_BYTES / tp                # one fp32 query- or output-sized tensor
    kv32 = kv * FP32_BYTES / ab                     # fp32 dK and dV
    fwd = cp * kv + kv + 4.0 * q32
    bwd = cp * kv + kv + q32 + 3.0 * kv32
    return fwd if fwd > bwd else bwd


@njit(cache=True)
def cp_buffers_at_peak(cp_attn, head_act):
    """What the context-parallel attention buffers add to a stage's peak [bytes]: they live
    during one layer's attention, after the loss has freed the logits and their fp32 copies
    (``head_act``), so the stage holds the larger of the two; the excess over ``head_act``.
    APPROXIMATION: the stage's other components are taken to be at their peak for both."""
    d = cp_attn - head_act
    return d if d > 0.0 else 0.0


@njit(cache=True)
def inflight(pp, vp, rank, m):
    """Micro-batches whose activations pipeline rank ``rank`` holds at its peak (its first
    backward), in units of the rank's layers × one micro-batch; at most m.

    1F1B: the pp − 1 − rank warm-up forwards and the first steady-state forward, pp − rank.
    Interleaved (vp > 1 chunks per rank, each 1/vp of its layers): Megatron-Core's
    ``forward_backward_pipelining_with_interleaving`` runs 2·(pp − 1 − rank) + (vp − 1)·pp
    warm-up chunk-forwards (micro-batch groups of pp per virtual stage, the depth-first
    default) before the first backward, plus the first steady-state one: (2·(pp − 1 − rank)
    + (vp − 1)·pp + 1)/vp = pp + (pp − 1 − 2·rank)/vp (Korthikanti et al.'s pp + (pp − 1)/vp
    on rank 0). Source: ``get_pp_rank_microbatches`` in
    https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/pipeline_parallel/schedules.py .
    APPROXIMATION: chunks of equal size (a rank's chunks differ by at most one layer)."""
    if vp > 1:
        f = (2.0 * (pp - 1.0 - rank) + (vp - 1.0) * pp + 1.0) / vp
    else:
        f = pp - rank * 1.0
    if f > m:
        f = m
    if f < 1.0:
        f = 1.0
    return f


PP_SCHED_ZB_H1, PP_SCHED_ZBV, PP_SCHED_V_HALF, PP_SCHED_V_MIN = 2, 3, 4, 5
"""Indices of the zero-bubble schedules in :data:`infra_lab.scenario.PP_SCHEDULES` (0 "1f1b"
and 1 "interleaved" before them), as the kernels receive the schedule."""


@njit(cache=True)
def inflight_schedule(sched, pp, vp, rank, m):
    """Micro-batches whose activations pipeline rank ``rank`` holds at its peak under the
    pipeline schedule ``sched`` (its index in :data:`infra_lab.scenario.PP_SCHEDULES`), in units
    of the rank's layers × one micro-batch; at most m, at least 1.

    0 "1f1b", 1 "interleaved": :func:`inflight`. 2 "zb-h1": 1F1B's pp − rank (ZB-H1 keeps 1F1B's
    warm-up; the deferred W passes hold only the GEMM inputs, which the B pass's activations
    include: Qi et al. 2024 §2.1, https://arxiv.org/abs/2401.10241). The V schedules (two chunks
    per rank, each half of its layers; every rank holds the same): 3 "zbv" pp, 4 "v-half"
    ⌊(pp + 2)/2⌋, 5 "v-min" ⌊(pp + 4)/3⌋ (the activation memory by micro-batches of Qi et al.,
    "Pipeline Parallelism with Controllable Memory", NeurIPS 2024,
    https://arxiv.org/abs/2405.15362, and its repository's table). APPROXIMATION: the building
    blocks' steady-state peak; the warm-up's reordering is taken not to raise it. The memory
    model and the step kernel price the V schedules per chunk from the order instead
    (:func:`infra_lab.memory.inflight_chunks`, :func:`v_chunk_peak`); these closed forms are
    the rank's total there once m >= 2·pp (tests/test_v_chunk_memory.py)."""
    if sched == PP_SCHED_ZBV:
        f = pp * 1.0
    elif sched == PP_SCHED_V_HALF:
        f = np.floor((pp + 2.0) / 2.0)
    elif sched == PP_SCHED_V_MIN:
        f = np.floor((pp + 4.0) / 3.0)
    elif sched == PP_SCHED_ZB_H1:
        f = pp - rank * 1.0
    else:
        return inflight(pp, vp, rank, m)
    if f > m:
        f = m
    if f < 1.0:
        f = 1.0
    return f


@njit(cache=True)
def v_chunk_peak(n0a, n1a, n0b, n1b, s0, s1):
    """In-flight micro-batches (n0, n1) of a V-schedule rank's first (down-going) and second
    chunk at its activation peak: of the two ends of the rank's peak
    (:func:`infra_lab._kernels.pipeline_greedy.chunk_inflight_peaks`: (n0a, n1a) the most
    chunk-0 forwards, (n0b, n1b) the most chunk-1 forwards), the one where n0·s0 + n1·s1 is
    larger, ``s0``, ``s1`` the bytes one micro-batch keeps in each chunk [bytes]; the first on a
    tie. Every other point of the rank's step holds no more of both chunks than some point
    between the two ends, so this is the peak for any s0, s1 >= 0."""
    if n0b * s0 + n1b * s1 > n0a * s0 + n1a * s1:
        return n0b, n1b
    return n0a, n1a


@njit(cache=True)
def grads_at_peak(act, grads, pp, vp, rank, m):
    """Gradient bytes that coexist with the stage's activation peak when gradients are
    allocated at their first backward of the step (PyTorch: ``zero_grad(set_to_none=True)``,
    FSDP2's unsharded accumulation; the stack's ``grad_buffer_persistent`` = 0) rather than held
    in a buffer for the whole run (Megatron's ``param_and_grad_buffer``: ``grads``) [bytes].

    Interleaved schedule (vp chunks per rank, Megatron's / PyTorch's depth-first order, groups of
    min(pp, m) micro-batches per chunk): rank ``rank`` runs W = 2·(pp − 1 − rank) + (vp − 1)·pp
    warm-up chunk-forwards of m·vp in all; before backward k it holds W + 1 chunk-forwards while
    the steady 1F1B phase lasts (k < m·vp − W), then m·vp − k. Chunk j (j = 0 … vp − 1 in
    backward order) allocates its 1/vp of the gradients at its first backward, k = j·group.
    Returns max_j(act·held(k_j)/held(0) + grads·(j + 1)/vp) − act: the whole ``grads`` when
    every chunk's first backward falls in the steady phase, down to grads/vp when all
    micro-batches are in flight. vp = 1 or pp = 1: ``grads`` (conservative: the first
    backward's layers allocate their gradients while freeing one micro-batch's activations).
    APPROXIMATION: chunk granularity (activations and gradients of a chunk counted at its
    first backward)."""
    if vp <= 1 or pp <= 1 or grads <= 0.0 or act <= 0.0:
        return grads
    w = 2.0 * (pp - 1.0 - rank) + (vp - 1.0) * pp
    total = m * vp
    h0 = w + 1.0 if w + 1.0 < total else total
    steady = total - w
    group = pp if pp < m else m
    best = 0.0
    for j in range(int(vp)):
        k = j * group
        if k >= total:
            break
        held = w + 1.0 if k < steady else total - k
        if held > h0:
            held = h0
        v = act * held / h0 + grads * (j + 1.0) / vp
        if v > best:
            best = v
    g = best - act
    if g > grads:
        g = grads
    if g < grads / vp:
        g = grads / vp
    return g


@njit(cache=True)
def stage_io_bytes(pp, vp, rank, m, nf, x):
    """Pipeline stage input/output buffers a framework keeps beyond the layers' saved
    activations [bytes] (the stack's ``pp_stage_buffers_persistent`` = 1: PyTorch pipelining).

    ``torch.distributed.pipelining`` allocates, once, a receive buffer for the stage input of every
    micro-batch (``_prepare_forward_infra``: ``args_recv_info[chunk]`` for each of the m chunks) and
    one for the output gradient of every micro-batch (``_prepare_backward_infra``:
    ``grad_recv_info[mb_index]``), per pipeline stage (vp stages per rank), and keeps each
    forward's output in ``fwd_cache`` until its backward
    (https://github.com/pytorch/pytorch/blob/main/torch/distributed/pipelining/stage.py). Each is
    one boundary tensor of ``x`` bytes (tokens x hidden of one micro-batch on this GPU). An
    in-flight micro-batch's input buffer is its first layer's saved input, already among the
    activations, so per stage: (m - held) input buffers + m gradient buffers + held outputs,
    2m on a middle rank whatever is in flight. The first stage (rank 0's first chunk) has no
    input buffers, and its held outputs count: m(2vp - 1) + held; the last stage (rank pp - 1's
    last chunk) has no gradient buffers and its output is the model's (the logits, counted
    elsewhere): m(2vp - 1) - held. APPROXIMATION: held = nf, the rank's in-flight micro-batches
    per chunk (capped at m). pp = 1: no pipeline, 0."""
    if pp <= 1 or x <= 0.0:
        return 0.0
    held = nf if nf < m else m
    if rank == 0:
        n = m * (2.0 * vp - 1.0) + held
    elif rank == pp - 1:
        n = m * (2.0 * vp - 1.0) - held
    else:
        n = 2.0 * m * vp
    return n * x


def stage_io_bytes_reference(pp, vp, rank, m, nf, x):
    """Plain-Python reference of :func:`stage_io_bytes`: walks the rank's vp pipeline stages
    (global stage v·pp + rank) and counts each buffer PyTorch pipelining holds."""
    if pp == 1:
        return 0.0
    held = min(nf, m)
    total = 0.0
    for v in range(int(vp)):
        stage = v * pp + rank
        first, last = stage == 0, stage == pp * vp - 1
        recv_inputs = 0.0 if first else m                 # one input buffer per micro-batch
        grad_buffers = 0.0 if last else m                 # one output-gradient buffer per micro-batch
        outputs = 0.0 if last else held                   # forward outputs kept until their backward
        already_counted = 0.0 if first else held          # in-flight inputs = first layers' saved inputs
        total += (recv_inputs + grad_buffers + outputs - already_counted) * x
    return total


@njit(cache=True)
def fsdp_reduce_scatter_buffer(layer_params, head_params, rsb):
    """The reduce-scatter input PyTorch FSDP2 holds beside a stage's activations in backward
    [bytes]: one FSDP unit's gradients in the reduce dtype (``rsb`` bytes per parameter), the
    largest of one layer's (``layer_params`` on this GPU) and the output layer's
    (``head_params`` on this GPU, 0 when tied to the embedding or not on the stage).

    ``foreach_reduce`` (torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py at pytorch
    010ae4a) allocates, in each unit's post-backward, a reduce-scatter input of the unit's padded
    unsharded size in the ``MixedPrecisionPolicy``'s reduce dtype, copies the unit's gradients in
    and returns it; ``FSDPParamGroup.post_backward`` (_fsdp_param_group.py, same commit) keeps it
    in ``comm_ctx.reduce_scatter_states`` and releases it in the next unit's post-backward, before
    that unit's own is allocated: one unit's input is held through the next unit's whole
    backward. torchtitan shards the final norm and the output layer as one unit
    (``apply_fsdp_to_decoder``), which runs its backward first, so its input is held through the
    last layer's backward, when the stored activations are all still there; each layer's is
    held through the layer below's.

    APPROXIMATION: the buffer is added to the stored activations and the recompute working set
    like the other backward terms (the model sums components, it does not follow the step's
    timeline); the 16-bit gradients of the unit whose backward runs while it is held are their
    own component (:func:`fsdp_unsharded_grads`)."""
    big = layer_params if layer_params > head_params else head_params
    return rsb * big


@njit(cache=True)
def fsdp_unsharded_grads(layer_params, layers, gfb, ugq):
    """Unsharded gradients of FSDP units in flight in backward beside the stored activations
    [bytes]: ``layer_params`` one layer unit's parameters on this GPU, ``layers`` the stage's
    layers, ``gfb`` the gradients' bytes per parameter (the 16-bit compute dtype), ``ugq`` 0 for
    PyTorch FSDP2 or Megatron-FSDP's reduce-scatter queue capacity [params].

    PyTorch FSDP2 (``ugq`` = 0): autograd writes a unit's gradients into its unsharded
    parameters' ``.grad`` in the ``MixedPrecisionPolicy``'s param dtype (``FSDPParam.unsharded_grad_data``
    in torch/distributed/fsdp/_fully_shard/_fsdp_param.py); the unit's post-backward hands them
    to ``foreach_reduce``, which copies them into the reduce-scatter input and only then drops
    them (``unsharded_grads.clear()``, _fsdp_collectives.py at
    https://github.com/pytorch/pytorch/blob/010ae4a89516fa3be548ab16dff711414ec12d0b/torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py):
    one layer's 16-bit gradients grow through its backward while the previous unit's
    reduce-scatter input (:func:`fsdp_reduce_scatter_buffer`) is held.

    Megatron-FSDP (``ugq`` > 0): a unit's gradients accumulate into a temporary unsharded bucket
    (``main_grad_getter`` -> ``gbuf.fetch_bucket``) in the main-gradient dtype, by default the
    parameters' (``--megatron-fsdp-main-grads-dtype auto``; ``_resolve_group_grad_dtype``); its
    reduce-scatter is queued and the bucket freed only when the queue is drained, which
    ``wait_for_previous_grad_reduce`` does, before each launch, while the queued buckets exceed
    ``suggested_RS_queue_capacity`` = max(1e9, 2 x the mean FSDP unit) parameters
    (megatron_fsdp.py l.420-444 and param_and_grad_buffer.py l.3924-3953 at
    https://github.com/NVIDIA/Megatron-LM/tree/d98e8a64ddf34856e74b24714e3bedb2f5a39553/megatron/core/distributed/fsdp/src/megatron_fsdp):
    floor(capacity / unit) queued units, the one just launched and the one accumulating, at
    most the stage's layers.

    APPROXIMATION: summed with the stored activations, the recompute working set and the held
    reduce-scatter input like the other backward terms (the peak of one unit's gradients is
    at its last weight gradient, when its working set is mostly freed); the FSDP units are the
    layers (Megatron-FSDP's ``fsdp_unit_modules``: the transformer layers); no term for the
    embedding or output layer's unit."""
    if layer_params <= 0.0 or layers <= 0.0:
        return 0.0
    n = 1.0
    if ugq > 0.0:
        cap = ugq if ugq > 2.0 * layer_params else 2.0 * layer_params
        n = np.floor(cap / layer_params) + 2.0
        if n > layers:
            n = layers
    return gfb * n * layer_params


@njit(cache=True)
def training_bytes(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob, layers,
                   act, work, head_act, reserve, wq, cp_attn, rsb, p_head, ugq, agb):
    """Per-GPU training memory by component [bytes] (see the module docstring)."""
    ne = (p_ne + emb) / tp               # non-expert parameters on this GPU
    ex = p_e / (ep * etp)                # routed-expert parameters on this GPU
    s1 = zero >= 1 or fsdp > 0           # optimizer states sharded
    s2 = zero >= 2 or fsdp > 0           # + gradients
    s3 = zero >= 3 or fsdp > 0           # + weights
    d_ne = g_ne if s3 else 1.0
    d_e = g_e if s3 else 1.0
    weights = wb * (ne / d_ne + ex / d_e)
    if fsdp > 1:                         # the fp32 shard is the optimizer's master (in ob)
        weights = 0.0
    if not s3:
        weights += wq * (p_ne / tp + ex)     # low-precision copy of the linear weights
    d_ne = g_ne if s2 else 1.0
    d_e = g_e if s2 else 1.0
    grads = gb * (ne / d_ne + ex / d_e)
    d_ne = g_ne if s1 else 1.0
    d_e = g_e if s1 else 1.0
    optim = ob * (ne / d_ne + ex / d_e)
    gather = 0.0
    rs = 0.0
    ug = 0.0
    if s3 and layers > 0.0:
        gather = 2.0 * (agb * p_ne / tp + wb * ex) / layers
        rs = fsdp_reduce_scatter_buffer((p_ne / tp + ex) / layers, p_head / tp, rsb)
        ug = fsdp_unsharded_grads((p_ne / tp + ex) / layers, layers, wb, ugq)
    return weights, grads, optim, gather, rs, ug, act, work, head_act, cp_buffers_at_peak(cp_attn, head_act), reserve


@njit(cache=True)
def stage_activations(nd, nm, rd, rm, a_dense, a_moe, w_dense, w_moe, full_recompute, nf, tok_h, act_bytes,
                      dropout, has_emb, has_head, logits_bytes, o_dense, o_moe, n_mtp, rx, a_mtp, w_mtp):
    """Activation memory of one pipeline stage [bytes]: (stored activations, recompute
    working set, embedding/LM-head activations).

    nd, nm : dense-like and MoE layers of the stage; rd, rm : of them, the layers a
    re-materialising recompute re-runs (``full_recompute``; rd = nd and rm = nm unless
    ``training.recompute_num_layers`` leaves the last layers of each chunk out, Megatron's
    block method); a_dense, a_moe : activation bytes one recomputed such layer stores for
    backward per micro-batch in GPU memory (for the run's recompute mode; offloaded tensors
    excluded); w_dense, w_moe : the same without recomputation (the working set
    re-materialised in backward, and what a layer full recompute leaves out keeps); nf :
    in-flight micro-batches; tok_h : tokens·hidden elements of one micro-batch on this GPU
    (sharded by tp under sequence parallelism); dropout, has_emb, has_head : flags;
    logits_bytes : logits and their fp32 copy for the loss; o_dense, o_moe : bytes one such
    layer offloads to host per micro-batch (Megatron-Core fine-grained activation
    offloading; 0 without).

    Partial recompute (rd < nd or rm < nm): the stored activations are the recomputed
    layers' inputs plus the full activations of the others, and one recomputed layer's
    working set is added (APPROXIMATION, conservative: the stage's peak may come before the
    backward reaches its recomputed layers, when the micro-batch's non-recomputed layers
    have not yet freed theirs).

    Offloading: the peak of a stage is at its first backward (after the warm-up forwards of
    the nf in-flight micro-batches); the offloaded groups are on the host then, except one
    layer's of one micro-batch — Megatron keeps the last group of each offloaded module on the
    GPU (the offload margin, so that its reload does not stall the compute stream) and reloads
    the chunk's last layer early (``PipelineOffloadManager.post_warmup_callback``,
    ``pre_reload_last_layer`` in megatron/core/pipeline_parallel/fine_grained_activation_offload.py):
    the larger of the stage's kinds' offloaded bytes is counted once.

    Multi-token prediction: ``n_mtp`` modules on the stage with the head (0 elsewhere), of
    which ``rx`` are re-materialised in backward (``full_recompute``; rx = n_mtp unless
    ``training.recompute_num_layers``, under which Megatron-Core recomputes none:
    :func:`infra_lab.memory.mtp_modules_recomputed`). Each such module keeps ``a_mtp`` bytes
    per in-flight micro-batch and adds ``w_mtp`` (its bytes without recompute) as a candidate
    working set; each other module keeps ``w_mtp`` (:func:`infra_lab.memory.mtp_activation_bytes`;
    never offloaded),
    and each another output head: its final-norm input and logits, like the main head's (all
    the losses of a micro-batch are computed in its forward and kept until its backward).

    Output head (``has_head``): the final norm's input and the output layer's input (the norm's
    output, which the vocabulary-parallel linear saves for its weight gradient), ``tok_h``
    elements each at ``act_bytes``, plus ``logits_bytes`` — Korthikanti et al. 2022 §4.3
    (https://arxiv.org/abs/2205.05198: 2sbh/t + 2sbh/t + 4sbv/t, "4sbh/t (1 + v/h)") and
    Megatron-LM's ``compute_activation_memory`` ("Inputs to output layer and CE loss",
    s·b·h·4·(1 + V/h), https://github.com/NVIDIA/Megatron-LM/blob/38644dd756c46142787b1bd5dc08ed82ca0e6de1/megatron/training/theoretical_memory_usage.py).
    APPROXIMATION: the output layer's saved input is taken as sharded like the norm's (Megatron's
    sequence-parallel linear saves its local shard and re-gathers it in backward); PyTorch's
    ColwiseParallel output layer saves its all-gathered input (tp x that) under tp > 1.
    """
    if full_recompute > 0 and (rd < nd or rm < nm):
        act = nf * (rd * a_dense + (nd - rd) * w_dense + rm * a_moe + (nm - rm) * w_moe)
    else:
        act = nf * (nd * a_dense + nm * a_moe)
    keep = 0.0
    if nd > 0.0:
        keep = o_dense
    if nm > 0.0 and o_moe > keep:
        keep = o_moe
    act += keep
    if n_mtp > 0.0:
        if full_recompute > 0 and rx < n_mtp:
            act += nf * (rx * a_mtp + (n_mtp - rx) * w_mtp)
        else:
            act += nf * n_mtp * a_mtp
    work = 0.0
    if full_recompute > 0:
        if rd > 0.0:
            work = w_dense
        if rm > 0.0 and w_moe > work:
            work = w_moe
        if rx > 0.0 and w_mtp > work:
            work = w_mtp
    head = 0.0
    if has_emb > 0.0 and dropout > 0.0:
        head += nf * tok_h                       # embedding dropout masks (1 byte)
    if has_head > 0.0:
        # final norm input, the output layer's input (the norm's output), logits
        head += 2.0 * tok_h * act_bytes + logits_bytes
        if n_mtp > 0.0:                           # each MTP module's head: the same again
            head += n_mtp * (2.0 * tok_h * act_bytes + logits_bytes)
    return act, work, head


@njit(cache=True)
def stage_memory(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob, nd, nm, rd, rm,
                 a_dense, a_moe, w_dense, w_moe, full_recompute, nf, tok_h, act_bytes, dropout,
                 has_emb, has_head, logits_bytes, reserve, wq, o_dense, o_moe, cp_attn, n_mtp, rx, a_mtp, w_mtp,
                 rsb, p_head, ugq, agb):
    """Memory of one pipeline stage by component [bytes]: :func:`training_bytes` with the
    stage's activations from :func:`stage_activations` (``cp_attn``: :func:`cp_attention_bytes`;
    ``n_mtp``, ``rx``, ``a_mtp``, ``w_mtp``: the MTP modules there, those re-materialised, and
    their bytes; ``rsb``, ``p_head``: FSDP2's reduce-scatter input; ``ugq``: the FSDP units'
    unsharded gradients in flight; ``agb``: the gathered layers' bytes per non-expert
    parameter; see the module docstring)."""
    act, work, head = stage_activations(nd, nm, rd, rm, a_dense, a_moe, w_dense, w_moe, full_recompute, nf, tok_h,
                                        act_bytes, dropout, has_emb, has_head, logits_bytes, o_dense, o_moe,
                                        n_mtp, rx, a_mtp, w_mtp)
    return training_bytes(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob, nd + nm,
                          act, work, head, reserve, wq, cp_attn, rsb, p_head, ugq, agb)


def training_bytes_reference(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob,
                             layers, act, work, head_act, reserve, wq, cp_attn=0.0, rsb=0.0, p_head=0.0,
                             ugq=0.0, agb=None):
    """Plain-Python reference of :func:`training_bytes`, written per state kind.

    ZeRO (Rajbhandari et al. 2020): stage 1 partitions optimizer states, stage 2 also
    gradients, stage 3 also parameters, each over the data-parallel ranks that hold a
    replica of that parameter (dense: dp·cp; experts: the expert-data-parallel ranks).
    """
    stage = 3 if fsdp else int(zero)
    # PyTorch FSDP2 over fp32 parameters (fsdp = 2): the sharded parameter IS the fp32 master the
    # optimizer bytes count; the 16-bit copy exists only while gathered (zero3_gather_buffer)
    master_is_shard = fsdp == 2
    replicas = {"dense": g_ne, "expert": g_e}
    local = {"dense": (p_ne + emb) / tp, "expert": p_e / (ep * etp)}
    first_sharded_stage = {"weights": 3, "gradients": 2, "optimizer_states": 1}
    per_param = {"weights": wb, "gradients": gb, "optimizer_states": ob}
    out = {}
    for state, need in first_sharded_stage.items():
        total = 0.0
        for group, n in local.items():
            share = n / replicas[group] if stage >= need else n
            total += share * per_param[state]
        out[state] = 0.0 if (state == "weights" and master_is_shard) else total
    if stage < 3:
        # FP8 training keeps a quantized copy of every linear weight (not the embedding or the
        # output layer) next to the working weights on the ranks that hold them whole
        out["weights"] += wq * (p_ne / tp + local["expert"])
    if stage == 3 and layers > 0:
        # current + prefetched layer; their non-expert weights at the gathered width (torchao's
        # float8 all-gather: 1 byte), routed experts in the 16-bit dtype
        gathered = wb if agb is None else agb
        one_layer = (p_ne / tp * gathered + local["expert"] * wb) / layers
        out["zero3_gather_buffer"] = 2 * one_layer
        # FSDP2 backward: the previous unit's reduce-scatter input (reduce dtype) is released only
        # in the next unit's post-backward; the units whose backward runs beside the activations
        # are the output layer (norm + output, first in backward) and the layers
        units = {"a layer": (p_ne / tp + local["expert"]) / layers, "norm + output layer": p_head / tp}
        out["fsdp_reduce_scatter_buffer"] = max(units.values()) * rsb
        # the 16-bit gradients of the units whose backward runs meanwhile: PyTorch FSDP2 one layer
        # (the unit after the held one); Megatron-FSDP every layer bucket its reduce-scatter queue
        # has not yet freed: whole layers up to the queue's capacity (at least two layers), the
        # one just launched and the one accumulating
        layer = units["a layer"]
        if ugq > 0:
            capacity = max(ugq, 2 * layer)
            in_flight = min(layers, math.floor(capacity / layer) + 2) if layer > 0 else 0
        else:
            in_flight = 1 if layer > 0 else 0
        out["fsdp_unsharded_grads"] = in_flight * layer * wb
    else:
        out["zero3_gather_buffer"] = 0.0
        out["fsdp_reduce_scatter_buffer"] = 0.0
        out["fsdp_unsharded_grads"] = 0.0
    out["activations"] = act
    out["recompute_working_set"] = work
    out["embedding_and_head_activations"] = head_act
    # one layer's attention buffers and the loss's logits are never live together
    out["cp_attention_buffers"] = max(head_act, cp_attn) - head_act
    out["allocator_reserve"] = reserve
    return tuple(float(out[k]) for k in MEM_NAMES)


def cp_attention_bytes_reference(cp, allgather, tok, hq, hkv, tp, ab):
    """Plain-Python reference of :func:`cp_attention_bytes`: lists the tensors each pass of
    PyTorch context_parallel's all-gather ring (``allgather`` = 1) or of Llama 3's exposed all-gather (2)
    holds at its worst moment, by name, and sums them."""
    if cp == 1 or allgather == 0:
        return 0.0
    k = v = tok * hkv * ab / tp                     # local K, V (bf16) [bytes]
    if allgather == 2:                              # Llama 3's exposed all-gather
        forward = {"all-gathered K/V of every rank": cp * (k + v)}
        backward = {
            "all-gathered K/V of every rank (gathered again)": cp * (k + v),
            "dK/dV of the whole sequence (K/V precision)": cp * (k + v),
            "reduce-scattered local dK/dV": k + v,
        }
        return max(sum(forward.values()), sum(backward.values()))
    q_fp32 = tok * hq * 4.0 / tp
    forward = {
        "all-gathered K/V of every rank": cp * (k + v),
        "this step's torch.cat of K/V (send buffer)": k + v,
        "merger accumulator _out (fp32)": q_fp32,
        "step output converted to fp32": q_fp32,
        "out - block_out (fp32)": q_fp32,
        "sigmoid(...) * (out - block_out) (fp32)": q_fp32,
    }
    backward = {
        "all-gathered K/V of every rank": cp * (k + v),
        "this step's torch.cat of K/V": k + v,
        "grad_query accumulator (fp32)": q_fp32,
        "received dK/dV being accumulated (fp32)": (k + v) / ab * 4.0,
        "torch.cat of dK/dV being sent (fp32)": (k + v) / ab * 4.0,
        "next hop's receive buffer (fp32)": (k + v) / ab * 4.0,
    }
    return max(sum(forward.values()), sum(backward.values()))


def stage_activations_reference(nd, nm, rd, rm, a_dense, a_moe, w_dense, w_moe, full_recompute, nf, tok_h,
                                act_bytes, dropout, has_emb, has_head, logits_bytes, o_dense, o_moe, n_mtp, rx,
                                a_mtp, w_mtp):
    """Plain-Python reference of :func:`stage_activations`, written per module kind from the
    rules its docstring states (Korthikanti et al. 2022, https://arxiv.org/abs/2205.05198, for
    what a layer keeps; Megatron-Core's fine-grained offloading for the one layer kept back).

    Each kind of module on the stage (dense-like layers, MoE layers, multi-token-prediction
    modules) is a row: how many the stage holds, how many of them a re-materialising recompute
    re-runs, what a re-run one keeps per micro-batch and what a kept-whole one keeps. A re-run
    module keeps its recompute-mode bytes; under a re-materialising recompute the modules it
    leaves out (Megatron's block method) keep their bytes without recompute; without one, every
    module keeps the run's recompute-mode bytes. Each of the ``nf`` in-flight micro-batches holds
    that much. Offloading keeps back one layer of one micro-batch: the largest offloaded layer
    of a kind the stage holds (MTP modules are never offloaded). Backward re-materialises one
    module at a time: the working set is the largest kept-whole bytes of a kind it re-runs.
    The embedding keeps a 1-byte dropout mask per element and micro-batch in flight; every
    output head (the main one and one per MTP module) keeps the final norm's and the output
    layer's inputs and the logits."""
    rematerialise = full_recompute > 0
    kinds = {
        "dense layers": {"count": nd, "rerun": rd, "kept_rerun": a_dense, "kept_whole": w_dense,
                         "offloaded": o_dense},
        "MoE layers": {"count": nm, "rerun": rm, "kept_rerun": a_moe, "kept_whole": w_moe, "offloaded": o_moe},
        "MTP modules": {"count": n_mtp, "rerun": rx, "kept_rerun": a_mtp, "kept_whole": w_mtp, "offloaded": 0.0},
    }
    per_micro_batch = 0.0
    for k in kinds.values():
        if k["count"] <= 0:
            continue
        if rematerialise:
            per_micro_batch += k["rerun"] * k["kept_rerun"] + (k["count"] - k["rerun"]) * k["kept_whole"]
        else:
            per_micro_batch += k["count"] * k["kept_rerun"]
    kept_back = max([k["offloaded"] for k in kinds.values() if k["count"] > 0], default=0.0)
    stored = nf * per_micro_batch + kept_back
    working = 0.0
    if rematerialise:
        working = max([k["kept_whole"] for k in kinds.values() if k["rerun"] > 0], default=0.0)
    heads = {}
    if has_emb > 0 and dropout > 0:
        heads["embedding dropout masks"] = nf * tok_h * 1.0
    if has_head > 0:
        one_head = {"final norm input": tok_h * act_bytes, "output layer input": tok_h * act_bytes,
                    "logits and their fp32 copy": logits_bytes}
        heads["output heads"] = (1 + n_mtp) * sum(one_head.values())
    return stored, working, sum(heads.values())


def stage_memory_reference(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob, nd, nm, rd, rm,
                           a_dense, a_moe, w_dense, w_moe, full_recompute, nf, tok_h, act_bytes, dropout,
                           has_emb, has_head, logits_bytes, reserve, wq, o_dense, o_moe, cp_attn, n_mtp, rx, a_mtp,
                           w_mtp, rsb, p_head, ugq, agb):
    """Plain-Python reference of :func:`stage_memory`: :func:`stage_activations_reference`'s
    activations composed with :func:`training_bytes_reference`'s states, the stage's layers
    being its dense and MoE layers (the MTP modules are not gathered by ZeRO-3 layer by layer)."""
    act, work, head = stage_activations_reference(nd, nm, rd, rm, a_dense, a_moe, w_dense, w_moe, full_recompute,
                                                  nf, tok_h, act_bytes, dropout, has_emb, has_head, logits_bytes,
                                                  o_dense, o_moe, n_mtp, rx, a_mtp, w_mtp)
    return training_bytes_reference(p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, wb, gb, ob, nd + nm,
                                    act, work, head, reserve, wq, cp_attn=cp_attn, rsb=rsb, p_head=p_head, ugq=ugq,
                                    agb=agb)
