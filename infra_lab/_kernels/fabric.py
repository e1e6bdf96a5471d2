"""Numba kernels for fabrics: flow routing (ECMP / spraying / adaptive, PXN forwarding) and
the max-min fair rate solve by progressive filling; re-exports the collective cost kernel
(:mod:`infra_lab._kernels.collectives`), whose ``best_collective(op, algo, size, n, k, P)``
is the interface training and serving call.

Kernels take only numpy arrays and scalars; topology arrives in the integer vector built by
:class:`infra_lab.fabric.Fabric`. Beside each kernel sits a plain Python reference
(``*_reference``) written independently, and the tests run one test class against both;
routing's reference, which builds the fabric as an explicit graph from its named links, is
:func:`infra_lab._kernels.fabric_reference.route_flows_reference`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------------
# The collective cost kernel lives in infra_lab._kernels.collectives; its interface
# (best_collective, the OP_/ALG_/PROTO_ codes and the P_ indices) stays importable here.
# ---------------------------------------------------------------------------------------
from .collectives import *  # noqa: E402, F401, F403
from .collectives import (  # noqa: E402, F401
    _S,
    N_ALGOS,
    N_TABLE_ALGOS,
    P_BASE,
    P_HWI,
    P_HWN,
    P_SIZE,
    best_collective,
    collective_cost,
    collective_times,
    fastest_collective,
    library_choice,
    lower_bound,
    tuner_time,
)

# ---------------------------------------------------------------------------------------
# Routing: flows -> (CSR of links, weights)
# ---------------------------------------------------------------------------------------
# Integer topology vector T (built by infra_lab.fabric.Fabric)
T_N, T_G, T_R, T_KIND, T_MESH, T_H, T_B, T_U = range(8)
T_SU, T_NUP, T_NDN, T_LUP, T_LDN, T_TUP, T_TDN, T_NLINKS, T_PXN, T_STG = range(8, 18)
# uplinks of each network's last leaf (U when full, fewer when part-filled) and the trunks of
# the planes it does not cable (spraying between two full leaves)
T_ULAST, T_TUPR, T_TDNR = range(18, 21)
# rail networks (T_P) and the hosts a domain puts on each (T_Q): a rack-scale domain's NIC j is
# on rail j % P as host domain * Q + j // P (its compute tray's NIC j % P); P = R, Q = 1 otherwise
T_P, T_Q = range(21, 23)
T_SIZE = 23

ROUTE_ECMP, ROUTE_SPRAY, ROUTE_SPRAY_EXPLICIT, ROUTE_ADAPTIVE = range(4)


@njit(cache=True)
def _mix64(x):
    """splitmix64 finaliser (uint64 -> uint64)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def ecmp_hash(src, dst, sub, seed, n_gpus):
    """Per-flow ECMP hash of (src, dst, queue pair ``sub``) under ``seed`` (uint64).

    key = (src · n_gpus + dst) · 64 + sub mod 64, with sub div 64 in bits 56 and up: one key
    per (src, dst, queue pair) while n_gpus < 2^25 and sub < 2^14 (queue pairs 64 .. 127 of
    one flow took the keys of the next destination's 0 .. 63 before); the contract
    :func:`infra_lab._kernels.fabric_reference.flow_hash` restates."""
    key = np.uint64(src) * np.uint64(n_gpus) + np.uint64(dst)
    key = key * np.uint64(64) + np.uint64(sub % 64)
    key = key | (np.uint64(sub // 64) << np.uint64(56))
    return _mix64(key ^ _mix64(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)))


@njit(cache=True)
def _leaf_of(node, nic, T):
    """Leaf of NIC ``nic`` of domain ``node``."""
    if T[T_KIND] == 2:  # fat-tree: leaves by consecutive NIC ports
        return (node * T[T_R] + nic) // T[T_H]
    # rail networks: rail nic % P, host node * Q + nic // P along it (P = R, Q = 1: rail = nic)
    return (nic % T[T_P]) * T[T_B] + (node * T[T_Q] + nic // T[T_P]) // T[T_H]


@njit(cache=True)
def _leaf_uplinks(leaf, T):
    """Uplinks (spine planes 0..u-1) that ``leaf`` cables: the last leaf of each network may
    cable fewer than U (part-filled)."""
    if T[T_KIND] == 2:
        n_leaves = (T[T_N] * T[T_R] + T[T_H] - 1) // T[T_H]
        last = leaf == n_leaves - 1
    else:
        last = leaf % T[T_B] == T[T_B] - 1
    return T[T_ULAST] if last else T[T_U]


@njit(cache=True)
def _su_hop(node, a, b, T, out_l, out_w, pos):
    G = T[T_G]
    if T[T_MESH] == 1:
        out_l[pos] = T[T_SU] + node * G * G + a * G + b
        out_w[pos] = 1.0
        return pos + 1
    out_l[pos] = T[T_SU] + node * G + a
    out_w[pos] = 1.0
    out_l[pos + 1] = T[T_SU] + T[T_N] * G + node * G + b
    out_w[pos + 1] = 1.0
    return pos + 2


@njit(cache=True)
def route_flows(src, dst, nbytes, T, mode, qps, seed, order):
    """Route flows over the fabric described by ``T``.

    mode: ROUTE_ECMP (per-flow hash; ``qps`` queue pairs hashed separately, each with 1/qps
    of the flow), ROUTE_SPRAY (even split over all equal-cost paths, represented exactly by
    aggregated trunks per leaf: the planes every leaf cables and, between two full leaves, the
    planes a part-filled last leaf does not), ROUTE_SPRAY_EXPLICIT (the same split written out link by
    link), ROUTE_ADAPTIVE (flows in ``order`` take the least-loaded spine, ties by hash).
    PXN (``T_PXN``) sends a flow bound for another rail over the scale-up fabric to the lowest
    GPU of its own host whose NIC is on the destination's rail, and out through that NIC.
    Returns (ptr, links, weights): flow f uses links[ptr[f]:ptr[f+1]] with the given weights.
    """
    F = src.shape[0]
    G = T[T_G]
    R = T[T_R]
    U = T[T_U]
    n_gpus = T[T_N] * G
    if mode == ROUTE_ECMP:
        K = qps
    elif mode == ROUTE_SPRAY_EXPLICIT:
        K = U
    else:
        K = 1
    width = 7 + 2 * K
    tmp_l = np.empty(F * width, dtype=np.int32)
    tmp_w = np.empty(F * width, dtype=np.float64)
    cnt = np.zeros(F, dtype=np.int64)
    n_leaves = T[T_P] * T[T_B] if T[T_KIND] != 2 else (T[T_N] * R + T[T_H] - 1) // T[T_H]
    Pr = T[T_P]
    load_up = np.zeros(max(1, n_leaves * U))
    load_dn = np.zeros(max(1, n_leaves * U))
    for idx in range(F):
        f = order[idx]
        s = src[f]
        d = dst[f]
        ms = s // G
        i_s = s % G
        md = d // G
        i_d = d % G
        pos = f * width
        start = pos
        if ms == md:
            pos = _su_hop(ms, i_s, i_d, T, tmp_l, tmp_w, pos)
        else:
            rs = i_s * R // G
            rd = i_d * R // G
            if rs % Pr != rd % Pr and T[T_PXN] == 1:
                # PXN: hop over the scale-up fabric to the GPU on the destination's rail (of the
                # source's own tray where a domain has several), which stages the data in its
                # HBM (written, then read by its NIC: weight 2)
                nic = (rs // Pr) * Pr + rd % Pr
                relay = (nic * G + R - 1) // R   # the lowest GPU i whose NIC i·R//G is nic
                if relay != i_s:
                    pos = _su_hop(ms, i_s, relay, T, tmp_l, tmp_w, pos)
                    tmp_l[pos] = T[T_STG] + ms * G + relay
                    tmp_w[pos] = 2.0
                    pos += 1
                rs = nic
            tmp_l[pos] = T[T_NUP] + ms * R + rs
            tmp_w[pos] = 1.0
            pos += 1
            ls = _leaf_of(ms, rs, T)
            ld = _leaf_of(md, rd, T)
            if ls != ld:
                # the planes both leaves cable (a part-filled last leaf cables fewer)
                us = _leaf_uplinks(ls, T)
                ud = _leaf_uplinks(ld, T)
                C = us if us < ud else ud
                if mode == ROUTE_SPRAY:
                    # planes < T_ULAST on the first trunk, the rest (full leaves only) on the second
                    a = T[T_ULAST] / C
                    tmp_l[pos] = T[T_TUP] + ls
                    tmp_w[pos] = a
                    tmp_l[pos + 1] = T[T_TDN] + ld
                    tmp_w[pos + 1] = a
                    pos += 2
                    if C > T[T_ULAST]:
                        tmp_l[pos] = T[T_TUPR] + ls
                        tmp_w[pos] = 1.0 - a
                        tmp_l[pos + 1] = T[T_TDNR] + ld
                        tmp_w[pos + 1] = 1.0 - a
                        pos += 2
                elif mode == ROUTE_SPRAY_EXPLICIT:
                    for jj in range(C):
                        tmp_l[pos] = T[T_LUP] + ls * U + jj
                        tmp_w[pos] = 1.0 / C
                        tmp_l[pos + 1] = T[T_LDN] + ld * U + jj
                        tmp_w[pos + 1] = 1.0 / C
                        pos += 2
                elif mode == ROUTE_ADAPTIVE:
                    h = ecmp_hash(s, d, np.int64(0), seed, n_gpus)  # typed, not a literal: one compile
                    j0 = np.int64(h % np.uint64(C))
                    best = -1
                    best_load = np.inf
                    for t in range(C):
                        jj = (j0 + t) % C
                        ld_ = max(load_up[ls * U + jj], load_dn[ld * U + jj])
                        if ld_ < best_load:
                            best_load = ld_
                            best = jj
                    load_up[ls * U + best] += nbytes[f]
                    load_dn[ld * U + best] += nbytes[f]
                    tmp_l[pos] = T[T_LUP] + ls * U + best
                    tmp_w[pos] = 1.0
                    tmp_l[pos + 1] = T[T_LDN] + ld * U + best
                    tmp_w[pos + 1] = 1.0
                    pos += 2
                else:
                    for q in range(qps):
                        h = ecmp_hash(s, d, q, seed, n_gpus)
                        jj = np.int64(h % np.uint64(C))
                        tmp_l[pos] = T[T_LUP] + ls * U + jj
                        tmp_w[pos] = 1.0 / qps
                        tmp_l[pos + 1] = T[T_LDN] + ld * U + jj
                        tmp_w[pos + 1] = 1.0 / qps
                        pos += 2
            tmp_l[pos] = T[T_NDN] + md * R + rd
            tmp_w[pos] = 1.0
            pos += 1
        cnt[f] = pos - start
    ptr = np.zeros(F + 1, dtype=np.int64)
    for f in range(F):
        ptr[f + 1] = ptr[f] + cnt[f]
    links = np.empty(ptr[F], dtype=np.int32)
    w = np.empty(ptr[F], dtype=np.float64)
    for f in range(F):
        b = f * width
        for e in range(cnt[f]):
            links[ptr[f] + e] = tmp_l[b + e]
            w[ptr[f] + e] = tmp_w[b + e]
    return ptr, links, w


# ---------------------------------------------------------------------------------------
# Max-min fair rates (progressive filling)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _csc(ptr, links, n_links):
    """Transpose flow->links into link->flows (entries keep duplicates)."""
    F = ptr.shape[0] - 1
    cptr = np.zeros(n_links + 1, dtype=np.int64)
    for e in range(links.shape[0]):
        cptr[links[e] + 1] += 1
    for lk in range(n_links):
        cptr[lk + 1] += cptr[lk]
    fill = cptr[:-1].copy()
    cflow = np.empty(links.shape[0], dtype=np.int64)
    for f in range(F):
        for e in range(ptr[f], ptr[f + 1]):
            lk = links[e]
            cflow[fill[lk]] = f
            fill[lk] += 1
    return cptr, cflow


@njit(cache=True)
def _maxmin_core(ptr, links, w, cap, alive, cptr, cflow):
    F = ptr.shape[0] - 1
    L = cap.shape[0]
    rate = np.zeros(F)
    active = alive.copy()
    sumw = np.zeros(L)
    nact = np.zeros(L, dtype=np.int64)
    used = np.zeros(L)
    remaining = 0
    for f in range(F):
        if active[f]:
            remaining += 1
            for e in range(ptr[f], ptr[f + 1]):
                sumw[links[e]] += w[e]
                nact[links[e]] += 1
    tl = np.empty(L)
    while remaining > 0:
        tmin = np.inf
        for lk in range(L):
            if nact[lk] > 0:
                t = (cap[lk] - used[lk]) / sumw[lk]
                if t < 0.0:
                    t = 0.0
                tl[lk] = t
                if t < tmin:
                    tmin = t
            else:
                tl[lk] = np.inf
        if tmin == np.inf:  # flows with no links: unconstrained
            for f in range(F):
                if active[f]:
                    rate[f] = np.inf
                    active[f] = False
            break
        thr = tmin * (1.0 + 1e-9) + 1e-300
        for lk in range(L):
            if nact[lk] > 0 and tl[lk] <= thr:
                for c in range(cptr[lk], cptr[lk + 1]):
                    f = cflow[c]
                    if active[f]:
                        active[f] = False
                        rate[f] = tmin
                        remaining -= 1
                        for e in range(ptr[f], ptr[f + 1]):
                            ll = links[e]
                            sumw[ll] -= w[e]
                            nact[ll] -= 1
                            used[ll] += w[e] * tmin
                            if nact[ll] == 0:
                                sumw[ll] = 0.0
    return rate


@njit(cache=True)
def maxmin_rates(ptr, links, w, cap):
    """Max-min fair rate of every flow [B/s]: a flow using link lk with weight w_l consumes
    w_l x rate of its capacity; progressive filling raises all unfrozen flows together and
    freezes those crossing a link as it saturates (all links saturating at one level at once)."""
    cptr, cflow = _csc(ptr, links, cap.shape[0])
    alive = np.ones(ptr.shape[0] - 1, dtype=np.bool_)
    return _maxmin_core(ptr, links, w, cap, alive, cptr, cflow)


@njit(cache=True)
def fluid_completion(ptr, links, w, cap, nbytes):
    """Fluid simulation: re-solve max-min rates whenever flows finish.

    Returns (finish time of each flow [s], bytes delivered per flow [B], rounds)."""
    F = ptr.shape[0] - 1
    cptr, cflow = _csc(ptr, links, cap.shape[0])
    alive = np.ones(F, dtype=np.bool_)
    rem = nbytes.astype(np.float64).copy()
    done = np.zeros(F)
    finish = np.zeros(F)
    t = 0.0
    left = F
    for f in range(F):
        if rem[f] <= 0.0:
            alive[f] = False
            left -= 1
    rounds = 0
    while left > 0:
        rate = _maxmin_core(ptr, links, w, cap, alive, cptr, cflow)
        dt = np.inf
        for f in range(F):
            if alive[f] and rate[f] > 0.0:
                x = rem[f] / rate[f]
                if x < dt:
                    dt = x
        if dt == np.inf:
            break
        t += dt
        rounds += 1
        for f in range(F):
            if alive[f]:
                moved = rate[f] * dt
                if rem[f] - moved <= 1e-9 * nbytes[f]:
                    done[f] += rem[f]
                    rem[f] = 0.0
                    alive[f] = False
                    finish[f] = t
                    left -= 1
                else:
                    done[f] += moved
                    rem[f] -= moved
    return finish, done, rounds


@njit(cache=True)
def link_loads(ptr, links, w, nbytes, n_links):
    """Bytes carried by each link [B] (weight x flow bytes, summed)."""
    out = np.zeros(n_links)
    for f in range(ptr.shape[0] - 1):
        for e in range(ptr[f], ptr[f + 1]):
            out[links[e]] += w[e] * nbytes[f]
    return out


# ---------------------------------------------------------------------------------------
# Plain-Python references
# ---------------------------------------------------------------------------------------
def maxmin_rates_reference(ptr, links, w, cap):
    """Textbook progressive filling in plain Python (Bertsekas & Gallager, Data Networks
    §6.5.2): raise every active flow's rate by the smallest fair share left on any link,
    freeze the flows of the links that filled, repeat."""
    F = len(ptr) - 1
    flow_links = [[(int(links[e]), float(w[e])) for e in range(ptr[f], ptr[f + 1])] for f in range(F)]
    rate = [0.0] * F
    remaining = [float(c) for c in cap]
    active = set(range(F))
    while active:
        sw: dict[int, float] = {}
        for f in active:
            for link, wt in flow_links[f]:
                sw[link] = sw.get(link, 0.0) + wt
        if not sw:
            for f in active:
                rate[f] = math.inf
            break
        inc = min(max(remaining[link], 0.0) / s for link, s in sw.items() if s > 0)
        for f in active:
            rate[f] += inc
        for link, s in sw.items():
            remaining[link] -= inc * s
        full = {link for link in sw if remaining[link] <= 1e-9 * float(cap[link])}
        active = {f for f in active if not any(link in full for link, _ in flow_links[f])}
    return np.array(rate)


def link_loads_reference(ptr, links, w, nbytes, n_links):
    """Plain-Python twin of :func:`link_loads`."""
    out = [0.0] * n_links
    for f in range(len(ptr) - 1):
        for e in range(ptr[f], ptr[f + 1]):
            out[int(links[e])] += float(w[e]) * float(nbytes[f])
    return np.array(out)


def fluid_completion_reference(ptr, links, w, cap, nbytes):
    """Plain-Python fluid simulation of :func:`fluid_completion` (same arguments and outputs),
    written as an event loop: the flows still sending share the links by max-min fairness
    (:func:`maxmin_rates_reference` on the sub-problem of those flows alone); time advances to
    the first of them to finish, whose bytes are all delivered; repeat until every flow is
    done or the rest cannot move (rate 0: they keep what they delivered and a finish time of 0).
    A flow finishes with the earliest when its remaining bytes at that instant are within
    1e-9 of its size (rounding of the shared advance)."""
    sizes = [float(x) for x in nbytes]
    paths = [[(int(links[e]), float(w[e])) for e in range(ptr[f], ptr[f + 1])] for f in range(len(sizes))]
    remaining = list(sizes)
    delivered = [0.0] * len(sizes)
    finish = [0.0] * len(sizes)
    sending = [f for f in range(len(sizes)) if sizes[f] > 0.0]
    now, rounds = 0.0, 0
    while sending:
        sub_ptr, sub_links, sub_w = [0], [], []
        for f in sending:
            sub_links += [link for link, _ in paths[f]]
            sub_w += [wt for _, wt in paths[f]]
            sub_ptr.append(len(sub_links))
        rates = maxmin_rates_reference(np.array(sub_ptr), np.array(sub_links, dtype=np.int64),
                                       np.array(sub_w), cap)
        moving = [(remaining[f] / r, f, r) for f, r in zip(sending, rates, strict=True) if r > 0.0]
        if not moving or min(moving)[0] == math.inf:
            break
        step = min(moving)[0]
        now += step
        rounds += 1
        still = []
        for f, r in zip(sending, rates, strict=True):
            sent = r * step
            if remaining[f] - sent <= 1e-9 * sizes[f]:
                delivered[f] += remaining[f]
                remaining[f] = 0.0
                finish[f] = now
            else:
                delivered[f] += sent
                remaining[f] -= sent
                still.append(f)
        sending = still
    return np.array(finish), np.array(delivered), rounds
