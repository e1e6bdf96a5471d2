"""Monte Carlo kernels for a training run with failures, checkpoints and restarts.

The run model (shared by the kernels, the plain references and the closed form in
:mod:`infra_lab.reliability`):

* The failure-free work ``work_s`` is cut into segments of ``interval_s`` of work (the last
  one shorter); each segment ends with a blocking checkpoint of ``ckpt_s``. A segment is
  committed only when its checkpoint is durable: at the end of the blocking part for a
  synchronous save (``background_s`` = 0), ``background_s`` later for an asynchronous one,
  whose write runs behind the next segment's work. A failure before then loses that
  segment too (the restart reloads the checkpoint before it).
* Hence a segment's *step* (from one durable checkpoint to the next) lasts, when the
  previous step succeeded, work + ckpt_s + max(0, background_s − work) (the next save
  waits for a write still running: at most one in flight); after a restart, or for the first
  segment, no write is in flight and the step is work + ckpt_s + background_s.
* Failures form one Poisson stream in wall-clock time (the superposition of the per-class
  streams); each failure carries a component class. A failure throws away the time spent in
  the current segment (work and checkpoint) and starts a restart of ``restart_s[class]``;
  a failure during a restart starts a new restart (of the new failure's class).
* Output per run: wall-clock time, failures, time lost in failed segments, time in restarts.

Kernels take only arrays and scalars. ``replay_kernel`` consumes pre-drawn inter-failure
gaps and classes (deterministic); ``simulate_kernel`` draws them from an explicit seed with
numba's generator, materialising the stream in blocks and replaying the path when it needs
more draws, so the path is a deterministic function of the stream (no truncation bias).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OVERFLOW = -1.0


# --------------------------------------------------------------------------------------
# Deterministic core: one run from a pre-drawn failure stream
# --------------------------------------------------------------------------------------
@njit(cache=True)
def _step_s(seg_work, ckpt_s, background_s, fresh):
    """Length of a segment's step [s] (see the module's run model)."""
    if fresh:
        return seg_work + ckpt_s + background_s
    stall = background_s - seg_work
    return seg_work + ckpt_s + (stall if stall > 0.0 else 0.0)


@njit(cache=True)
def _no_failure_wall(work_s, interval_s, ckpt_s, background_s):
    """Wall-clock time of a run without failures [s]."""
    wall = 0.0
    committed = 0.0
    fresh = True
    while committed < work_s:
        seg_work = work_s - committed
        if seg_work > interval_s:
            seg_work = interval_s
        wall += _step_s(seg_work, ckpt_s, background_s, fresh)
        committed += seg_work
        fresh = False
    return wall


@njit(cache=True)
def _run_core(work_s, interval_s, ckpt_s, restart_s, gaps, classes, n_avail, out, background_s):
    """Replay one run; writes (wall, failures, lost, restart, per-class counts...) to out.

    Returns True when it finished, False when it needed more than ``n_avail`` gaps.
    ``out`` has 4 + n_classes slots.
    """
    for i in range(out.shape[0]):
        out[i] = 0.0
    wall = 0.0
    lost = 0.0
    rest = 0.0
    nfail = 0
    k = 0  # index of the pending failure in the stream
    if n_avail < 1:
        return False
    to_fail = gaps[0]
    committed = 0.0
    fresh = True   # no write in flight: the first segment, and after every restart
    while committed < work_s:
        seg_work = work_s - committed
        if seg_work > interval_s:
            seg_work = interval_s
        seg = _step_s(seg_work, ckpt_s, background_s, fresh)
        if to_fail >= seg:
            wall += seg
            to_fail -= seg
            committed += seg_work
            fresh = False
            continue
        # failure inside the segment: the work since the last checkpoint is lost
        wall += to_fail
        lost += to_fail
        while True:  # count the failure, draw the next one, restart
            c = classes[k]
            nfail += 1
            out[4 + c] += 1.0
            k += 1
            if k >= n_avail:
                return False
            to_fail = gaps[k]
            r = restart_s[c]
            if to_fail >= r:
                break
            # failure during the restart: the restart time so far is spent, restart again
            wall += to_fail
            rest += to_fail
        wall += r
        rest += r
        to_fail -= r
        fresh = True
    out[0] = wall
    out[1] = nfail
    out[2] = lost
    out[3] = rest
    return True


@njit(cache=True)
def replay_kernel(work_s, interval_s, ckpt_s, restart_s, gaps, classes, background_s=0.0):
    """One run from pre-drawn inter-failure gaps [s] and classes (int64 indices into
    ``restart_s``). Returns an array (wall_s, failures, lost_s, restart_s, counts per class);
    wall_s is -1 when the gaps ran out before the work finished. ``ckpt_s`` is the blocking
    part of a save and ``background_s`` its write behind training (0: synchronous) [s]."""
    out = np.zeros(4 + restart_s.shape[0])
    ok = _run_core(work_s, interval_s, ckpt_s, restart_s, gaps, classes, gaps.shape[0], out, background_s)
    if not ok:
        out[0] = OVERFLOW
    return out


@njit(cache=True)
def _draw(gaps, classes, start, stop, mean_gap_s, cum_p):
    for i in range(start, stop):
        gaps[i] = np.random.exponential(mean_gap_s)
        u = np.random.random()
        c = 0
        while c < cum_p.shape[0] - 1 and u >= cum_p[c]:
            c += 1
        classes[i] = c


@njit(cache=True)
def simulate_kernel(work_s, interval_s, ckpt_s, rates_per_s, restart_s, n_runs, n_buf, seed, background_s=0.0):
    """Monte Carlo of ``n_runs`` runs; failures drawn from ``seed`` (numba's generator).

    Parameters are SI: work_s, interval_s, ckpt_s [s]; rates_per_s per class [1/s];
    restart_s per class [s]; n_buf: initial number of failures drawn per run (grown as
    needed); background_s: an asynchronous save's write behind training (0: synchronous) [s]. Returns an array of shape (n_runs, 4 + n_classes): wall_s, failures, lost_s,
    restart_s, then failure counts per class.
    """
    np.random.seed(seed)
    n_cls = rates_per_s.shape[0]
    total = 0.0
    for i in range(n_cls):
        total += rates_per_s[i]
    res = np.zeros((n_runs, 4 + n_cls))
    if total <= 0.0:
        wall = _no_failure_wall(work_s, interval_s, ckpt_s, background_s)
        for r in range(n_runs):
            res[r, 0] = wall
        return res
    cum_p = np.empty(n_cls)
    acc = 0.0
    for i in range(n_cls):
        acc += rates_per_s[i] / total
        cum_p[i] = acc
    mean_gap = 1.0 / total
    cap = max(n_buf, 8)
    gaps = np.empty(cap)
    classes = np.empty(cap, dtype=np.int64)
    out = np.zeros(4 + n_cls)
    for r in range(n_runs):
        n = max(n_buf, 8)
        _draw(gaps, classes, np.int64(0), n, mean_gap, cum_p)  # typed, not a literal: one compile
        while not _run_core(work_s, interval_s, ckpt_s, restart_s, gaps, classes, n, out, background_s):
            # extend the same stream and replay the path (identical up to the old end)
            new_n = 2 * n
            if new_n > gaps.shape[0]:
                g2 = np.empty(new_n)
                c2 = np.empty(new_n, dtype=np.int64)
                g2[:n] = gaps[:n]
                c2[:n] = classes[:n]
                gaps = g2
                classes = c2
            _draw(gaps, classes, n, new_n, mean_gap, cum_p)
            n = new_n
        for j in range(4 + n_cls):
            res[r, j] = out[j]
    return res


# --------------------------------------------------------------------------------------
# Plain references (readable Python/numpy; same model, same output layout)
# --------------------------------------------------------------------------------------
def replay_reference(work_s, interval_s, ckpt_s, restart_s, gaps, classes, background_s=0.0):
    """Plain-Python twin of :func:`replay_kernel`."""
    restart_s = np.asarray(restart_s, dtype=float)
    out = np.zeros(4 + len(restart_s))
    stream = iter(zip(np.asarray(gaps, float).tolist(), np.asarray(classes).tolist(), strict=True))

    def next_failure():
        try:
            return next(stream)
        except StopIteration:
            return None

    nxt = next_failure()
    if nxt is None:
        out[0] = OVERFLOW
        return out
    to_fail, cls = nxt
    wall = lost = rest = 0.0
    committed = 0.0
    nfail = 0
    in_flight = False   # a previous save's write still running behind this segment's work
    while committed < work_s:
        seg_work = min(interval_s, work_s - committed)
        if in_flight:   # the save waits for the previous write: at most one in flight
            seg = seg_work + ckpt_s + max(0.0, background_s - seg_work)
        else:           # first segment, or after a restart: its own write must end too
            seg = seg_work + ckpt_s + background_s
        if to_fail >= seg:  # the segment's checkpoint is durable
            wall += seg
            to_fail -= seg
            committed += seg_work
            in_flight = True
            continue
        wall += to_fail  # failure: the segment's time is lost
        lost += to_fail
        while True:
            nfail += 1
            out[4 + cls] += 1
            r = restart_s[cls]
            nxt = next_failure()
            if nxt is None:
                out[0] = OVERFLOW
                return out
            to_fail, cls = nxt
            if to_fail >= r:  # restart completes
                wall += r
                rest += r
                to_fail -= r
                in_flight = False
                break
            wall += to_fail  # failure during restart: restart again
            rest += to_fail
    out[:4] = (wall, nfail, lost, rest)
    return out


def simulate_reference(work_s, interval_s, ckpt_s, rates_per_s, restart_s, n_runs, seed, background_s=0.0):
    """Plain twin of :func:`simulate_kernel` using ``numpy.random.default_rng(seed)``.

    Draws each run's failure stream in blocks (extending it when needed) and replays it
    with :func:`replay_reference`. Statistically equivalent to the kernel, not bit-equal
    (different generators).
    """
    rng = np.random.default_rng(seed)
    rates = np.asarray(rates_per_s, dtype=float)
    restart_s = np.asarray(restart_s, dtype=float)
    total = rates.sum()
    res = np.zeros((n_runs, 4 + len(rates)))
    if total <= 0:
        n_full = math.floor(work_s / interval_s)
        rem = work_s - n_full * interval_s
        segs = [interval_s] * n_full + ([rem] if rem > 0 else [])
        res[:, 0] = sum(w + ckpt_s + (background_s if i == 0 else max(0.0, background_s - w))
                        for i, w in enumerate(segs))
        return res
    p = rates / total
    for r in range(n_runs):
        gaps = rng.exponential(1.0 / total, size=16)
        cls = rng.choice(len(rates), size=16, p=p)
        while True:
            out = replay_reference(work_s, interval_s, ckpt_s, restart_s, gaps, cls, background_s)
            if out[0] != OVERFLOW:
                break
            n = len(gaps)
            gaps = np.concatenate([gaps, rng.exponential(1.0 / total, size=n)])
            cls = np.concatenate([cls, rng.choice(len(rates), size=n, p=p)])
        res[r] = out
    return res
