"""Numba kernels for collectives and fabrics: the α–β–γ cost of one collective, flow routing
(ECMP / spraying / adaptive) and the max-min fair rate solve by progressive filling.

Kernels take only numpy arrays and scalars; hardware numbers arrive in the ``P`` parameter
vector built by :func:`infra_lab.collectives.collective_time_params` (index names below) or
in the integer topology vector built by :class:`infra_lab.fabric.Fabric`. Beside each kernel
sits a plain Python reference (``*_reference``, or the kernel's own ``.py_func`` for the pure
arithmetic cost function), and the tests run one test class against both.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------------
# Codes shared with infra_lab.collectives
# ---------------------------------------------------------------------------------------
OP_ALL_REDUCE, OP_REDUCE_SCATTER, OP_ALL_GATHER, OP_BROADCAST, OP_ALL_TO_ALL, OP_SEND_RECV = range(6)
(ALG_RING, ALG_TREE, ALG_RHD, ALG_DIRECT, ALG_HIER, ALG_PAIRWISE, ALG_RAIL, ALG_BRUCK) = range(8)
N_ALGOS = 8
PROTO_LL, PROTO_LL128, PROTO_SIMPLE = range(3)

# Index of each entry of the float parameter vector P.
P_G = 0           # GPUs per scale-up domain (node) [-]
P_MESH = 1        # 1.0: full mesh (xGMI), 0.0: switched (NVSwitch)
P_LINK = 2        # achieved bandwidth of one scale-up link, one direction [B/s]
P_NLINKS = 3      # scale-up links per GPU [-]
P_BNIC = 4        # achieved NIC bandwidth per GPU, one direction [B/s]
P_GAMMA = 5       # reduction cost [s/B]
P_LATINTER = 6    # extra latency per network step (switch hops) [s]
P_NETOVH = 7      # NCCL/RCCL network post overhead [s]
P_FABRIC = 8      # 0 rails-only, 1 rail-optimized, 2 fat-tree
P_OVERSUB = 9     # oversubscription ratio [-]
P_BASE = 10       # base latency [class*3 + proto], class 0 ring-like, 1 tree [s]
P_HWI = 16        # per-step intra-domain latency [class*3 + proto] [s]
P_HWN = 22        # per-step network latency [class*3 + proto] [s]
P_BWF = 28        # bandwidth factor [class*3 + proto] (0 = protocol unavailable)
P_BWF_TREE_SIMPLE_LE2 = 34  # tree/Simple factor at <= 2 nodes
P_FABEFF = 35     # routing efficiency applied to NIC bandwidth (1 = perfect balance)
P_TREE_SINGLE_OK = 36  # 1.0 if tree/Simple may run inside one node (RCCL gfx94x: 0)
P_SIZE = 37


@njit(cache=True)
def _clog2(x):
    """ceil(log2 x) for x >= 1 (0 for x = 1)."""
    c = 0
    v = 1
    while v < x:
        v *= 2
        c += 1
    return c


@njit(cache=True)
def _bup(k, P):
    """Scale-up bandwidth a GPU can drive towards k-1 peers of its domain [B/s]."""
    if k <= 1:
        return np.inf
    if P[P_MESH] > 0.5:
        return (k - 1) * P[P_LINK]
    return P[P_NLINKS] * P[P_LINK]


@njit(cache=True)
def _bp2p(P):
    """Bandwidth between one pair of GPUs of a domain [B/s] (mesh: one link)."""
    if P[P_MESH] > 0.5:
        return P[P_LINK]
    return P[P_NLINKS] * P[P_LINK]


@njit(cache=True)
def _rhd_volume(size, k, N, f, P, b_nic):
    """Recursive halving over node-major ranks [s]: lg k steps inside the node, each to one
    peer (one link on a mesh), then lg N steps across nodes on the GPU's own NIC."""
    t = 0.0
    if k > 1:
        t += (k - 1.0) / k * size / (f * _bp2p(P))
    if N > 1:
        t += (N - 1.0) / N * (size / k) / (f * b_nic)
    return t


@njit(cache=True)
def collective_cost(op, algo, proto, size, n, k, P):
    """Time [s] of one collective with one algorithm and protocol; inf when not applicable.

    op, algo, proto: integer codes (OP_*, ALG_*, PROTO_*); size: bytes as nccl-tests defines
    them for ``op`` [B]; n: ranks; k: ranks per node (n = k x nodes); P: parameter vector.
    """
    if n < 1 or k < 1 or size < 0.0:
        return np.inf
    N = n // k
    multi = N > 1
    if n == 1:
        return 0.0
    cls = 1 if algo == ALG_TREE else 0
    j = cls * 3 + proto
    f = P[P_BWF + j]
    if cls == 1 and proto == PROTO_SIMPLE:
        if N <= 2:
            f = P[P_BWF_TREE_SIMPLE_LE2]
        if N == 1 and P[P_TREE_SINGLE_OK] < 0.5:
            return np.inf
    if f <= 0.0:
        return np.inf
    base = P[P_BASE + j]
    a_up = P[P_HWI + j]
    a_net = P[P_HWN + j] + P[P_LATINTER]
    if multi and cls == 0:
        ovh = P[P_NETOVH] * (3.0 if proto == PROTO_SIMPLE else 1.0)
        if ovh > a_up:
            a_up = ovh
    B_up = _bup(k, P)
    b_nic = P[P_BNIC] * P[P_FABEFF]
    gamma = P[P_GAMMA]
    if multi:
        B_ring = k * b_nic
        if k > 1:
            B_ring = min(B_ring, B_up * k / (k - 1.0))
    else:
        B_ring = B_up
    lgk = _clog2(k)
    lgN = _clog2(N)
    pow2 = (n & (n - 1)) == 0
    fn = (n - 1.0) / n
    rails_only = P[P_FABRIC] < 0.5

    if op == OP_ALL_REDUCE:
        red = fn * size * gamma
        if algo == ALG_RING:
            inter = 2 * (N - 1)
            intra = 2 * (n - 1) - inter
            return base + intra * a_up + inter * a_net + max(2.0 * fn * size / (f * B_ring), red)
        if algo == ALG_TREE:
            return base + 2.0 * ((k - 1) * a_up + lgN * a_net) + max(2.0 * size / (f * B_ring), red)
        if algo == ALG_RHD:
            lat = base + 2.0 * (lgk * a_up + lgN * a_net)
            bw = 2.0 * _rhd_volume(size, k, N, f, P, b_nic)
            if not pow2:  # MPICH: two extra steps and two extra full-vector transfers
                lat += 2.0 * (a_net if multi else a_up)
                bw += 2.0 * size / (f * B_ring)
                red += size * gamma
            return lat + max(bw, red)
        if algo == ALG_DIRECT:
            if multi:
                return np.inf
            return base + 2.0 * a_up + max(2.0 * fn * size / (f * B_up), red)
        if algo == ALG_HIER:
            if not multi:
                return np.inf
            lat = base + 2.0 * lgN * a_net
            bw = 2.0 * (N - 1.0) / N * (size / k) / (f * b_nic)
            if k > 1:
                lat += 2.0 * (k - 1) * a_up
                bw += 2.0 * (k - 1.0) / k * size / (f * B_up)
            return lat + max(bw, red)
        return np.inf

    if op == OP_REDUCE_SCATTER or op == OP_ALL_GATHER:
        red = fn * size * gamma if op == OP_REDUCE_SCATTER else 0.0
        if algo == ALG_RING:
            inter = N - 1
            intra = (n - 1) - inter
            return base + intra * a_up + inter * a_net + max(fn * size / (f * B_ring), red)
        if algo == ALG_RHD:
            lat = base + lgk * a_up + lgN * a_net
            if not pow2:
                lat += a_net if multi else a_up
            return lat + max(_rhd_volume(size, k, N, f, P, b_nic), red)
        if algo == ALG_DIRECT:
            if multi:
                return np.inf
            return base + a_up + max(fn * size / (f * B_up), red)
        if algo == ALG_HIER:
            if not multi:
                return np.inf
            lat = base + (N - 1) * a_net
            bw = (N - 1.0) / N * (size / k) / (f * b_nic)
            if k > 1:
                lat += (k - 1) * a_up
                bw += (k - 1.0) / k * size / (f * B_up)
            return lat + max(bw, red)
        return np.inf

    if op == OP_BROADCAST:
        if algo == ALG_RING:
            inter = N - 1
            intra = (n - 1) - inter
            return base + intra * a_up + inter * a_net + size / (f * B_ring)
        if algo == ALG_TREE:
            return base + lgk * a_up + lgN * a_net + size / (f * B_ring)
        if algo == ALG_RHD:
            return base + 2.0 * (lgk * a_up + lgN * a_net) + 2.0 * _rhd_volume(size, k, N, f, P, b_nic)
        if algo == ALG_DIRECT:
            if multi:
                return np.inf
            return base + 2.0 * a_up + 2.0 * fn * size / (f * B_up)
        if algo == ALG_HIER:
            if not multi:
                return np.inf
            t = base + (N - 1) * a_net + (size / k) / (f * b_nic)
            if k > 1:
                t += 2.0 * (k - 1) * a_up + 2.0 * (k - 1.0) / k * size / (f * B_up)
            return t
        return np.inf

    if op == OP_ALL_TO_ALL:
        if algo == ALG_DIRECT:
            if not multi:
                return base + a_up + fn * size / (f * B_up)
            if rails_only and k > 1:
                return np.inf  # other rails are unreachable without forwarding
            # grouped send/recv to every peer at once (NCCL-style): one latency per fabric
            # plus the post overhead of each remote message
            t_up = (k - 1.0) / n * size / (f * B_up) if k > 1 else 0.0
            t_net = (n - k) / n * size / (f * b_nic)
            bis = P[P_OVERSUB] * size / (2.0 * f * b_nic)
            return base + a_up + a_net + (n - k) * P[P_NETOVH] + max(t_up, t_net, bis)
        if algo == ALG_PAIRWISE:
            t_up = (k - 1.0) / n * size / (f * B_up) if k > 1 else 0.0
            if not multi:
                return base + (k - 1) * a_up + t_up
            if rails_only and k > 1:
                return np.inf  # other rails are unreachable without forwarding
            t_net = (n - k) / n * size / (f * b_nic)
            bis = P[P_OVERSUB] * size / (2.0 * f * b_nic)
            return base + (k - 1) * a_up + (n - k) * a_net + max(t_up, t_net, bis)
        if algo == ALG_RAIL:
            if not multi:
                return np.inf
            t_up = 0.0
            if k > 1:
                fwd = (k - 1.0) / n + (n - k) / n * (k - 1.0) / k
                t_up = fwd * size / (f * B_up)
            t_net = (n - k) / n * size / (f * b_nic)
            bis = P[P_OVERSUB] * size / (2.0 * f * b_nic)
            # NCCL-style grouped send/recv: one network latency plus the post overhead of
            # each of the n - k remote messages (not MPICH's n - 1 sequential steps)
            return base + k * a_up + a_net + (n - k) * P[P_NETOVH] + max(t_up, t_net, bis)
        if algo == ALG_BRUCK:
            if (k & (k - 1)) != 0:
                return np.inf
            t = base + lgk * a_up + lgN * a_net
            if k > 1:
                t += 0.5 * size * lgk / (f * _bp2p(P))
            if multi:
                t += 0.5 * size * lgN / (f * b_nic)
            return t
        return np.inf

    if op == OP_SEND_RECV:
        if algo != ALG_DIRECT:
            return np.inf
        if multi:
            bw = b_nic
            if k > 1:
                bw = min(bw, _bp2p(P))
            return base + a_net + size / (f * bw)
        return base + a_up + size / (f * _bp2p(P))
    return np.inf


@njit(cache=True)
def best_collective(op, algo, size, n, k, P):
    """Cost of one collective: the interface the training step and serving models call.

    Parameters
    ----------
    op : OP_* code
    algo : ALG_* code, or -1 for "auto" (the fastest algorithm and protocol)
    size : S in bytes as nccl-tests defines it for ``op`` [B]
    n : ranks in the group [-]; n = 1 costs 0 s
    k : ranks of the group inside ONE scale-up domain [-], 1 <= k <= P[P_G] and n a
        multiple of k; the group spans n / k domains with k ranks in each. On a mesh
        (xGMI) those k GPUs are joined by k − 1 links each, whatever the physical domain
        size (2 ranks of an 8-GPU MI300X node: one link); through NVSwitch every GPU keeps
        its full NVLink bandwidth (an 8-GPU job inside an NVL72 rack: n = k = 8)
    P : ``infra_lab.collectives.collective_time_params(hw).array``; P[P_G] is the job's GPUs
        per scale-up domain (``HardwareConfig.domain_gpus``), P[P_DPHYS] the physical domain

    Returns (time [s], algorithm code, protocol code); time is inf when nothing applies.
    """
    best_t = np.inf
    best_a = -1
    best_p = -1
    a0 = 0 if algo < 0 else algo
    a1 = N_ALGOS if algo < 0 else algo + 1
    for a in range(a0, a1):
        for p in range(3):
            t = collective_cost(op, a, p, size, n, k, P)
            if t < best_t:
                best_t = t
                best_a = a
                best_p = p
    return best_t, best_a, best_p


@njit(cache=True)
def collective_times(op, algo, sizes, n, k, P):
    """Vectorised :func:`best_collective` over message sizes [B] -> times [s]."""
    out = np.empty(sizes.shape[0])
    for i in range(sizes.shape[0]):
        out[i] = best_collective(op, algo, sizes[i], n, k, P)[0]
    return out


@njit(cache=True)
def lower_bound(op, size, n, k, P):
    """Chan et al. (2007) lower bound in the same α–β–γ model: (latency, bandwidth,
    reduction) terms [s], each at its smallest over protocols. Every algorithm's modelled
    time is at least latency + max(bandwidth, reduction) (reduction overlaps transfers)."""
    N = n // k
    if n <= 1:
        return 0.0, 0.0, 0.0
    base = np.inf
    a_up = np.inf
    a_net = np.inf
    for j in range(6):
        if P[P_BWF + j] > 0.0 or (j == 5 and P[P_BWF_TREE_SIMPLE_LE2] > 0.0):
            base = min(base, P[P_BASE + j])
            a_up = min(a_up, P[P_HWI + j])
            a_net = min(a_net, P[P_HWN + j] + P[P_LATINTER])
    # scale-up fabrics deliver to every peer in one round (multi-port); the network is
    # single-port per GPU: ceil(lg N) rounds.
    lat = base + (a_up if k > 1 else 0.0) + _clog2(N) * a_net
    fmax = 1.0
    for j in range(6):
        fmax = max(fmax, P[P_BWF + j])
    B_up = _bup(k, P) if k > 1 else 0.0
    b_nic = P[P_BNIC] * P[P_FABEFF]
    B_inj = B_up + (b_nic if N > 1 else 0.0)
    fn = (n - 1.0) / n
    if op == OP_ALL_REDUCE:
        bw = 2.0 * fn * size / (fmax * B_inj)
        if N > 1:
            bw = max(bw, 2.0 * (N - 1.0) / N * size / (fmax * k * b_nic))
        red = fn * size * P[P_GAMMA]
    elif op == OP_REDUCE_SCATTER or op == OP_ALL_GATHER:
        bw = fn * size / (fmax * B_inj)
        if N > 1:
            bw = max(bw, (N - 1.0) / N * size / (fmax * k * b_nic))
        red = fn * size * P[P_GAMMA] if op == OP_REDUCE_SCATTER else 0.0
    elif op == OP_ALL_TO_ALL:
        bw = fn * size / (fmax * B_inj)
        if N > 1:
            bw = max(bw, (n - k) / n * size / (fmax * b_nic))
        red = 0.0
    else:  # broadcast, send_recv
        bw = size / (fmax * B_inj)
        if N > 1:
            bw = max(bw, size / (fmax * k * b_nic))
        red = 0.0
    return lat, bw, red


# ---------------------------------------------------------------------------------------
# Routing: flows -> (CSR of links, weights)
# ---------------------------------------------------------------------------------------
# Integer topology vector T (built by infra_lab.fabric.Fabric)
T_N, T_G, T_R, T_KIND, T_MESH, T_H, T_B, T_U = range(8)
T_SU, T_NUP, T_NDN, T_LUP, T_LDN, T_TUP, T_TDN, T_NLINKS, T_PXN = range(8, 17)
T_SIZE = 17

ROUTE_ECMP, ROUTE_SPRAY, ROUTE_SPRAY_EXPLICIT, ROUTE_ADAPTIVE = range(4)


@njit(cache=True)
def _mix64(x):
    """splitmix64 finaliser (uint64 -> uint64)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def ecmp_hash(src, dst, sub, seed, n_gpus):
    """Per-flow ECMP hash of (src, dst, queue pair ``sub``) under ``seed`` (uint64)."""
    key = np.uint64(src) * np.uint64(n_gpus) + np.uint64(dst)
    key = key * np.uint64(64) + np.uint64(sub)
    return _mix64(key ^ _mix64(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)))


@njit(cache=True)
def _leaf_of(node, rail, T):
    if T[T_KIND] == 2:  # fat-tree: leaves by consecutive NIC ports
        return (node * T[T_R] + rail) // T[T_H]
    return rail * T[T_B] + node // T[T_H]


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
    one aggregated trunk per leaf), ROUTE_SPRAY_EXPLICIT (the same split written out link by
    link), ROUTE_ADAPTIVE (flows in ``order`` take the least-loaded spine, ties by hash).
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
    width = 4 + 2 * K
    tmp_l = np.empty(F * width, dtype=np.int32)
    tmp_w = np.empty(F * width, dtype=np.float64)
    cnt = np.zeros(F, dtype=np.int64)
    n_leaves = T[T_R] * T[T_B] if T[T_KIND] != 2 else (T[T_N] * R + T[T_H] - 1) // T[T_H]
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
            if rs != rd and (T[T_KIND] == 0 or T[T_PXN] == 1):
                relay = rd * G // R
                if relay != i_s:
                    pos = _su_hop(ms, i_s, relay, T, tmp_l, tmp_w, pos)
                rs = rd
            tmp_l[pos] = T[T_NUP] + ms * R + rs
            tmp_w[pos] = 1.0
            pos += 1
            ls = _leaf_of(ms, rs, T)
            ld = _leaf_of(md, rd, T)
            if ls != ld:
                if mode == ROUTE_SPRAY:
                    tmp_l[pos] = T[T_TUP] + ls
                    tmp_w[pos] = 1.0
                    tmp_l[pos + 1] = T[T_TDN] + ld
                    tmp_w[pos + 1] = 1.0
                    pos += 2
                elif mode == ROUTE_SPRAY_EXPLICIT:
                    for jj in range(U):
                        tmp_l[pos] = T[T_LUP] + ls * U + jj
                        tmp_w[pos] = 1.0 / U
                        tmp_l[pos + 1] = T[T_LDN] + ld * U + jj
                        tmp_w[pos + 1] = 1.0 / U
                        pos += 2
                elif mode == ROUTE_ADAPTIVE:
                    h = ecmp_hash(s, d, 0, seed, n_gpus)
                    j0 = np.int64(h % np.uint64(U))
                    best = -1
                    best_load = np.inf
                    for t in range(U):
                        jj = (j0 + t) % U
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
                        jj = np.int64(h % np.uint64(U))
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
