"""Pipeline send/receive of the zero-bubble and V schedules as Primus' runtime posts and waits
them (numba): the transfers a step waits for, counted by walking the calls.

What ran: AMD-AGI/Primus' pipeline runtime at 78633ae (``patch_primus_pipeline``,
primus/backends/megatron/core/pipeline_parallel/primuspipe/), which runs the tables of
primus/core/pipeline_parallel/scheduler/algorithms/ (``zero-bubble``: zerobubble.py,
``zbv-formatted``: zbv_formatted.py, ``v-half`` / ``v-min``: zbv_greedy.py):

* the table (:data:`PRIMUS_P2P_AT`): ZB-H1's ``generate_schedule_table`` puts each pass's
  receive node just before it and its send node just after it (a steady forward's receive moved
  before the W pass that precedes it: "pop" the W, append the receive, append the W again); the
  V tables (``VFoldScheduleAlgo._insert_compute_node``) give each pass a time step and put its
  send on the sender's and its receive on the receiver's table at the step + 1, a step's
  communication nodes before its pass (``_calculate_schedule_table_by_time_step_nodes``); the
  V's turn at the last rank is a local copy, not a transfer;
* the runtime (handlers/communication_handler.py ``batch_p2p_communication_handler`` with
  ``communication_method`` ``async_p2p``, the default of primus/configs/modules/megatron/
  primus_pipeline.yaml): consecutive communication nodes (of one time step, where the table has
  steps) are one group; at a group the rank first waits on the previous group's sends
  (``SEND_NODE_CACHE``: ``req.wait()``), then posts the group's ``isend`` / ``irecv`` without
  waiting (``_async_send_recv_op``); a forward waits on its receive just before it runs
  (handlers/fwd_handler.py ``scheduler_table[idx].args["req"].wait()``), a backward on its
  gradient's (handlers/bwd_handler.py). The ``batch_p2p`` method (a blocking batched exchange
  and ``torch.cuda.synchronize()`` per group) is not the default and is not priced here.

A wait holds the rank's stream until the transfer is done; a transfer starts once both its
sender and its receiver have posted it and takes one hop (:func:`walk_posted_units`, the event
walk of :func:`infra_lab._kernels.training_reference._walk_posted`). The count is the step's
growth per hop as the hop goes to zero with every pass (F, B, W) at one time unit, every rank
alike: the most transfers on a longest path (the walk carries time and transfers as one integer,
time · 2^24 + transfers, so the max-plus walk compares them in that order).

APPROXIMATIONS: F, B and W at the same time (the zero-bubble paper's T_F = T_B = T_W, Qi et
al. 2024 §2, https://arxiv.org/abs/2401.10241) and every rank alike, where the pass times
differ (the count is the transfers on the longest path at those times); each transfer its own,
where one communicator's NCCL stream runs a rank's transfers to a peer in posting order; one hop
time for every transfer (the step prices ``count · t_hop``).

The plain-Python reference, written separately from Primus' classes, is
:func:`infra_lab._kernels.training_reference.primus_p2p_simulated`; tests/test_pp_zero_bubble_p2p.py
checks that both agree."""

from __future__ import annotations

import numpy as np
from numba import njit

from .memory import PP_SCHED_V_MIN, PP_SCHED_ZB_H1, PP_SCHED_ZBV
from .pipeline_greedy import KIND_F, KIND_W, v_greedy_slots, zb_h1_order, zbv_slots

PRIMUS_P2P_AT = "78633ae78a1e11cef081c3102971d6fb4da6e19f"
"""The AMD-AGI/Primus commit whose pipeline runtime and tables :func:`primus_p2p_count` walks:
https://github.com/AMD-AGI/Primus/tree/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/backends/megatron/core/pipeline_parallel/primuspipe"""

OP_PASS, OP_POST, OP_WAIT = 0, 1, 2
HOP_SHIFT = 2 ** 24
"""One time unit of :func:`walk_posted_units` (a pass); one transfer adds 1."""


@njit(cache=True)
def _msg(r, chunk, kind, mb, m):
    """The message a pass (``kind`` 0 forward, 1 backward) of micro-batch ``mb`` on rank r's
    ``chunk`` receives: its index, (r·2 + chunk)·2 + kind, times m, plus mb."""
    return ((r * 2 + chunk) * 2 + kind) * m + mb


@njit(cache=True)
def _peers(p, r, kind, chunk, v):
    """(previous rank, its chunk, next rank, its chunk) of a pass on rank r: where its input
    comes from and its output goes (−1: none), as Primus' ``direction_map`` gives them
    (zerobubble.py for one chunk; base.py ``VFoldScheduleAlgo`` for a V, the last rank's turn to
    itself)."""
    if not v:
        if kind == KIND_F:
            return (r - 1 if r > 0 else -1), 0, (r + 1 if r + 1 < p else -1), 0
        return (r + 1 if r + 1 < p else -1), 0, (r - 1 if r > 0 else -1), 0
    left = (chunk == 0) if kind == KIND_F else (chunk == 1)
    if left:
        prv = r - 1 if r > 0 else -1
        nxt = r + 1 if r + 1 < p else r
        to_chunk = chunk if r < p - 1 else 1 - chunk
        return prv, chunk, nxt, to_chunk
    prv = r + 1 if r + 1 < p else r
    nxt = r - 1 if r > 0 else -1
    from_chunk = chunk if r + 1 < p else 1 - chunk
    return prv, from_chunk, nxt, chunk


@njit(cache=True)
def walk_posted_units(ops, nops, p, nmsg):
    """The end of the last rank's stream [time units · :data:`HOP_SHIFT` + transfers] when
    rank r runs ``ops[r, :nops[r]]`` (rows (kind, a, b)): :data:`OP_PASS` a pass of ``a`` units,
    :data:`OP_POST` message ``a`` posted (``b`` 0 by its sender, 1 by its receiver) at the
    stream's time, :data:`OP_WAIT` the stream held until message ``a`` is done (both sides
    posted, plus one transfer). −1 when the sequences deadlock or a waited message is posted on
    one side only."""
    ptr = np.zeros(p, np.int64)
    now = np.zeros(p, np.int64)
    post = np.full((nmsg, 2), -1, np.int64)
    while True:
        moved = False
        left = False
        for r in range(p):
            while ptr[r] < nops[r]:
                k = ops[r, ptr[r], 0]
                a = ops[r, ptr[r], 1]
                if k == OP_PASS:
                    now[r] += a * HOP_SHIFT
                elif k == OP_POST:
                    post[a, ops[r, ptr[r], 2]] = now[r]
                else:
                    if post[a, 0] < 0 or post[a, 1] < 0:
                        break
                    d = (post[a, 0] if post[a, 0] > post[a, 1] else post[a, 1]) + 1
                    if d > now[r]:
                        now[r] = d
                ptr[r] += 1
                moved = True
            if ptr[r] < nops[r]:
                left = True
        if not left:
            break
        if not moved:
            return -1
    top = 0
    for r in range(p):
        if now[r] > top:
            top = now[r]
    return top


@njit(cache=True)
def _add(ops, nops, r, k, a, b):
    ops[r, nops[r], 0] = k
    ops[r, nops[r], 1] = a
    ops[r, nops[r], 2] = b
    nops[r] += 1


@njit(cache=True)
def _flush(ops, nops, r, grp, ng, pend, npend):
    """One communication group of rank r: wait on the previous group's sends, then post this
    group's (``grp[:ng]``: rows (message, side)); its sends become the pending ones."""
    for i in range(npend[r]):
        _add(ops, nops, r, np.int64(OP_WAIT), pend[r, i], np.int64(0))
    npend[r] = 0
    for i in range(ng):
        _add(ops, nops, r, np.int64(OP_POST), grp[i, 0], grp[i, 1])
        if grp[i, 1] == 0:
            pend[r, npend[r]] = grp[i, 0]
            npend[r] += 1


@njit(cache=True)
def _pass(ops, nops, p, m, r, code, v):
    """A pass of rank r (its pass code): the wait on its input's transfer where that comes
    from another rank, then the pass (one unit)."""
    kind = code // (2 * m)
    chunk = (code // m) % 2
    mb = code % m
    if kind != KIND_W:
        prv, _, _, _ = _peers(p, r, kind, chunk, v)
        if prv >= 0 and prv != r:
            _add(ops, nops, r, np.int64(OP_WAIT), _msg(r, chunk, kind, mb, m), np.int64(0))
    _add(ops, nops, r, np.int64(OP_PASS), np.int64(1), np.int64(0))


@njit(cache=True)
def _comm(p, m, r, code, v):
    """(receive message, send message, send's peer) of a pass on rank r: −1 where it has none
    or the peer is the rank itself (the V's turn: a local copy)."""
    kind = code // (2 * m)
    chunk = (code // m) % 2
    mb = code % m
    if kind == KIND_W:
        return -1, -1, -1
    prv, _, nxt, to_chunk = _peers(p, r, kind, chunk, v)
    rcv = _msg(r, chunk, kind, mb, m) if (prv >= 0 and prv != r) else -1
    snd = _msg(nxt, to_chunk, kind, mb, m) if (nxt >= 0 and nxt != r) else -1
    return rcv, snd, nxt


@njit(cache=True)
def zb_h1_ops(p, m):
    """Rank-by-rank walk sequences (:func:`walk_posted_units`) of Primus' ZB-H1 table
    (``ScheduleZeroBubble.generate_schedule_table``) under its async runtime: int64[p, L, 3]
    and the length per rank."""
    order = zb_h1_order(p, m)
    n = order.shape[1]
    L = 16 * n + 16
    ops = np.zeros((p, L, 3), np.int64)
    nops = np.zeros(p, np.int64)
    pend = np.zeros((p, 4), np.int64)
    npend = np.zeros(p, np.int64)
    # the table: entries (type, value): 0 a pass (its code), 1 a receive, 2 a send (message)
    tab = np.zeros((3 * n, 2), np.int64)
    grp = np.zeros((8, 2), np.int64)
    for r in range(p):
        nt = 0
        for j in range(n):
            code = order[r, j]
            rcv, snd, _ = _comm(p, m, r, code, np.bool_(False))
            if rcv >= 0:
                # a steady forward's (and a cool-down backward's) receive goes before the W
                # pass just before it (zerobubble.py: pop the W, append the receive, the W)
                moved = m >= p and nt > 0 and tab[nt - 1, 0] == 0 and tab[nt - 1, 1] // (2 * m) == KIND_W
                if moved:
                    w = tab[nt - 1, 1]
                    tab[nt - 1, 0] = 1
                    tab[nt - 1, 1] = rcv
                    tab[nt, 0] = 0
                    tab[nt, 1] = w
                else:
                    tab[nt, 0] = 1
                    tab[nt, 1] = rcv
                nt += 1
            tab[nt, 0] = 0
            tab[nt, 1] = code
            nt += 1
            if snd >= 0:
                tab[nt, 0] = 2
                tab[nt, 1] = snd
                nt += 1
        # the runtime: consecutive communication nodes are one group
        ng = 0
        for i in range(nt):
            if tab[i, 0] == 0:
                _pass(ops, nops, p, m, r, tab[i, 1], np.bool_(False))
                continue
            grp[ng, 0] = tab[i, 1]
            grp[ng, 1] = 1 if tab[i, 0] == 1 else 0
            ng += 1
            if i + 1 >= nt or tab[i + 1, 0] == 0:
                _flush(ops, nops, r, grp, ng, pend, npend)
                ng = 0
    return ops, nops


@njit(cache=True)
def v_ops(order, slot, p, m):
    """Rank-by-rank walk sequences (:func:`walk_posted_units`) of a Primus V table (two chunks
    per rank; ``order`` each rank's passes and ``slot`` their time steps: ``zbv_slots``,
    ``v_greedy_slots``) under its async runtime: int64[p, L, 3] and the length per rank. A
    pass's send and its peer's receive go on both tables at the pass's step + 1, before that
    step's pass; the local copy at the V's turn is no transfer and no group of its own."""
    n = order.shape[1]
    top = 0
    for r in range(p):
        for j in range(n):
            if slot[r, j] > top:
                top = slot[r, j]
    T = top + 2
    cnt = np.zeros((p, T), np.int64)
    ent = np.zeros((p, T, 4, 2), np.int64)       # (message, side 0 send / 1 receive)
    at = np.full((p, T), -1, np.int64)
    for r in range(p):
        for j in range(n):
            code = order[r, j]
            s = slot[r, j]
            at[r, s] = code
            rcv, snd, nxt = _comm(p, m, r, code, np.bool_(True))
            if snd >= 0:
                ent[r, s + 1, cnt[r, s + 1], 0] = snd
                ent[r, s + 1, cnt[r, s + 1], 1] = 0
                cnt[r, s + 1] += 1
                ent[nxt, s + 1, cnt[nxt, s + 1], 0] = snd
                ent[nxt, s + 1, cnt[nxt, s + 1], 1] = 1
                cnt[nxt, s + 1] += 1
    L = 16 * n + 16
    ops = np.zeros((p, L, 3), np.int64)
    nops = np.zeros(p, np.int64)
    pend = np.zeros((p, 4), np.int64)
    npend = np.zeros(p, np.int64)
    for r in range(p):
        for s in range(T):
            if cnt[r, s] > 0:
                _flush(ops, nops, r, ent[r, s], cnt[r, s], pend, npend)
            if at[r, s] >= 0:
                _pass(ops, nops, p, m, r, at[r, s], np.bool_(True))
    return ops, nops


@njit(cache=True)
def primus_p2p_count(sched, p, m):
    """Transfers the step waits for under Primus' runtime [-] for the executed schedule
    ``sched`` (:data:`infra_lab._kernels.memory.PP_SCHED_ZB_H1`, ``PP_SCHED_ZBV``,
    ``PP_SCHED_V_HALF``, ``PP_SCHED_V_MIN``) on ``p`` ranks with ``m`` micro-batches: the
    transfers on the longest path of the walk of its table's calls (the module's docstring) at
    equal pass times, the low part of :func:`walk_posted_units`' time · HOP_SHIFT + transfers.
    −1 when the walk deadlocks."""
    if p <= 1:
        return 0
    if sched == PP_SCHED_ZB_H1:
        ops, nops = zb_h1_ops(p, m)
    elif sched == PP_SCHED_ZBV:
        order, slot = zbv_slots(p, m)
        ops, nops = v_ops(order, slot, p, m)
    else:
        order, slot = v_greedy_slots(p, m, sched == PP_SCHED_V_MIN)
        ops, nops = v_ops(order, slot, p, m)
    v = walk_posted_units(ops, nops, p, 8 * p * m)
    if v < 0:
        return -1
    return v % HOP_SHIFT
