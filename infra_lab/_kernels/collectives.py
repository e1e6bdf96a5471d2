"""Numba kernels for the cost of one collective as NCCL and RCCL run it.

Two separate models, as in the libraries themselves:

* **the tuner** (:func:`tuner_time`): the library's own predicted time for each enabled
  algorithm × protocol pair, with its constants (base and per-hop latencies, NCCL's
  per-channel caps and correction tables, RCCL's bandwidth *ratios* and correction tables).
  ``algo = -1`` ("auto") picks the pair with the smallest predicted time, as
  ``ncclTopoGetAlgoTime`` does, among the algorithms the library implements for that op;
  RCCL's MSCCL all-pairs kernel replaces it for 8-GPU single-node all-reduce in its size
  windows. Tuning ratios steer the choice only; they are never used as bandwidths.
* **the cost** (:func:`collective_cost`): the time the chosen pair takes on the hardware —
  the library's per-hop latencies, and bandwidth from the links that carry the data
  (scale-up links among the k GPUs of a domain, the NICs, the switch for NVLS / SHARP),
  the protocol's wire efficiency (LL 1/2, LL128 120/128, Simple 1) and, where the
  implementation uses few channels, a per-channel throughput.

A third part prices the serving engines' own tensor-parallel all-reduce kernels (one-shot and
two-shot over P2P buffers inside a node, :func:`engine_allreduce`), which NCCL/RCCL's tuner never
picks: the serving kernel calls it for its TP all-reduces, by the engine's rule.

Hardware numbers arrive in the float vector ``P`` built by
:func:`infra_lab.collectives.collective_time_params` (index names below). The plain-Python
reference :func:`infra_lab.collectives_reference.collective_cost_reference` is written
separately from the same public formulas and the tests check that the two agree.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------------
# Codes shared with infra_lab.collectives
# ---------------------------------------------------------------------------------------
OP_ALL_REDUCE, OP_REDUCE_SCATTER, OP_ALL_GATHER, OP_BROADCAST, OP_ALL_TO_ALL, OP_SEND_RECV = range(6)
(ALG_RING, ALG_TREE, ALG_NVLS, ALG_NVLSTREE, ALG_COLLNET_DIRECT, ALG_COLLNET_CHAIN, ALG_PAT,
 ALG_ALLPAIRS, ALG_P2P, ALG_PXN) = range(10)
N_ALGOS = 10
N_TABLE_ALGOS = 7          # algorithms with rows in the library latency tables (ring..pat)
PROTO_LL, PROTO_LL128, PROTO_SIMPLE = range(3)
# old names kept as aliases of the library algorithms that do the same thing
ALG_DIRECT = ALG_ALLPAIRS  # one-shot intra-node all-reduce (RCCL MSCCL all-pairs)
ALG_RAIL = ALG_PXN         # rail-aware all-to-all = PXN forwarding
ALG_PAIRWISE = ALG_P2P     # all-to-all as grouped send/recv

LIB_NCCL, LIB_RCCL = 0, 1

# Index of each entry of the float parameter vector P.
P_G = 0            # the job's GPUs per scale-up domain (HardwareConfig.domain_gpus) [-]
P_MESH = 1         # 1.0: full mesh (xGMI), 0.0: switched (NVSwitch)
P_LINK = 2         # achieved bandwidth of one scale-up link, one direction [B/s]
P_NLINKS = 3       # scale-up links per GPU [-]
P_BNIC = 4         # achieved NIC bandwidth per GPU, one direction [B/s]
P_GAMMA = 5        # reduction cost [s/B]
P_LATINTER = 6     # extra latency per network hop (switches beyond the first) [s]
P_NETOVH = 7       # per-message network post overhead of the host CPU [s]
P_FABRIC = 8       # 0 rails-only, 1 rail-optimized, 2 fat-tree
P_OVERSUB = 9      # oversubscription ratio [-]
# (P_BASE, P_HWI, P_HWN keep their old offsets 10/16/22 for ring (0..2) and tree (3..5))
P_BASE = 10        # base latency [algo*3 + proto], algo < N_TABLE_ALGOS [s]
P_HWI = P_BASE + 3 * N_TABLE_ALGOS    # per-hop latency inside the domain [s]
P_HWN = P_HWI + 3 * N_TABLE_ALGOS     # per-hop network latency [s]
_S = P_HWN + 3 * N_TABLE_ALGOS
# laid out one after the other from _S (tests check the entries do not overlap)
P_FABEFF = _S + 0  # routing efficiency applied to NIC bandwidth (1 = perfect balance)
P_LIB = _S + 1  # LIB_NCCL or LIB_RCCL
P_NVLS = _S + 2  # 1: NVSwitch with in-switch reduction (NVLS)
P_SHARP = _S + 3  # 1: the scale-out switches reduce in-network (CollNet)
P_PXN = _S + 4  # 1: PXN forwards cross-rail traffic through the scale-up fabric
P_DPHYS = _S + 5  # physical scale-up domain [-]
P_NVLS_FRAC = _S + 6  # NVLS algbw / per-GPU NVLink bandwidth [-]
P_NVLS_MIN = _S + 7  # smallest group that uses NVLS [-]
P_CH_SIMPLE = _S + 8  # per-channel bus bandwidth, Simple (inf: not limiting) [B/s]
P_CH_LL = _S + 9  # per-channel bus bandwidth, LL [B/s]
P_NCH_RING = _S + 10  # channels of ring/tree graphs [-]
P_ALLPAIRS = _S + 11  # 1: RCCL MSCCL all-pairs kernels for 8-GPU single-node all-reduce
P_AP_GPUS = _S + 12  # GPUs the all-pairs kernels are built for [-]
P_AP_LL4 = _S + 13  # all-pairs LL on 4 channels up to this size [B]
P_AP_LL8 = _S + 14  # all-pairs LL on 8 channels up to this size [B]
P_AP_SIMPLE = _S + 15  # all-pairs Simple on 8 channels up to this size [B]
P_AP_MIN = _S + 16  # all-pairs needs at least this many bytes [B]
P_WIRE = _S + 17  # wire efficiency [proto] (3 entries)
P_STEP_BYTES = _S + 20  # Simple chunk per pipeline step and channel [B]
P_LL_STEP_BYTES = _S + 21  # LL payload per pipeline step and channel [B]
P_TREE_MIN_CHUNK = _S + 22  # smallest tree chunk [B]
P_HBM = _S + 23  # HBM bandwidth [B/s] (PXN staging)
P_ARITY = _S + 24  # CollNet arity latency per local rank [s]
P_PAT_DIV = _S + 25  # PAT NET latency divisor [-]
P_PAT_RANK = _S + 26  # PAT per-rank latency [s]
P_TREE_SINGLE_OK = _S + 27  # 0: Tree/Simple is not run inside one node (RCCL gfx942/950)
# tuner-only constants
P_T_LLMAX = _S + 28  # NCCL llMaxBw [1 node, 2 nodes, >2 nodes] [B/s] (3 entries)
P_T_CH_RLL128 = _S + 31  # NCCL perChMaxRingLL128Bw [3] [B/s] (3 entries)
P_T_CH_TLL128 = _S + 34  # NCCL perChMaxTreeLL128Bw [3] [B/s] (3 entries)
P_T_CH_TREE = _S + 37  # NCCL perChMaxTreeBw [3] [B/s] (3 entries)
P_T_CH_NVLSTREE = _S + 40  # NCCL perChMaxNVLSTreeBw [3] [B/s] (3 entries)
P_T_NVLS_EFF = _S + 43  # NCCL nvlsEfficiency (tuner)
P_T_PLATEAU = _S + 44  # NCCL multi-node Ring/Simple latency factor
P_T_NET = _S + 45  # RCCL tuner NET latency [ring, tree][proto] [s] (6 entries)
P_T_RATIO = _S + 51  # RCCL bwRatio [nodes<=2 | >2][ring, tree][proto] (12 entries)
P_T_LL_MAX = _S + 63  # RCCL llProtoRanges: LL only up to [all_reduce, reduce_scatter, all_gather] [B] (3 entries)
P_T_TREE_CORR = _S + 66  # tree correction [proto][27] (81 entries)
P_T_RING_CORR = _S + 147  # ring correction [proto][27] (RCCL, multi-node) (81 entries)
P_AP_NCH_LL4 = _S + 228  # channels of the all-pairs LL kernel up to P_AP_LL4 [-]
P_AP_NCH = _S + 229  # channels of the all-pairs kernels above P_AP_LL4 [-]
P_NETOVH_SIMPLE = _S + 230  # factor on P_NETOVH for the Simple protocol in a ring step [-]
# NCCL tuner refinements of a pair's bus bandwidth (ncclTopoTuneModel) and of its predicted
# time (ncclTopoGetAlgoTime): data/network_physics.csv, rows nccl_tuner_*
P_T_RING_LL = _S + 231  # ring/LL: factor on the bus bandwidth before the llMaxBw cap [-]
P_T_RING_LL128 = _S + 232  # ring/LL128: factor before the per-channel cap [-]
P_T_TREE_AR = _S + 233  # tree all-reduce: factor before the per-channel cap [-]
P_T_TREE_LL_DIV = _S + 234  # tree/LL: divisor before the llMaxBw cap [-]
P_T_TREE_LL128_1N = _S + 235  # tree/LL128 on one node: factor [-]
P_T_TREE_LL128_MN = _S + 236  # tree/LL128 across nodes: factor [-]
P_T_PAT = _S + 237  # PAT: factor [-]
P_T_CND_AR = _S + 238  # CollNet Direct all-reduce: factor [-]
P_T_CND_INTER = _S + 239  # CollNet Direct all-gather/reduce-scatter: factor on the inter-node bandwidth [-]
P_T_PLATEAU_MIN = _S + 240  # ring/Simple plateau latency factor from this many bytes per rank and channel [B]
P_T_TREE_CORR_LOG_END = _S + 241  # NCCL applies the tree correction below this size bucket [-]
P_T_BUCKET_BYTES = _S + 242  # unit of the tuner's size buckets: bucket = floor(log2(size / this)) [B]
# the cost model's tree chunking (enqueue.cc)
P_TREE_CHUNKS_PER_LEVEL = _S + 243  # chunks a channel needs per level of tree depth before halving [-]
P_LEAF_NODES = _S + 244  # scale-up domains under one full leaf (share its uplinks; one switch: the job's) [-]
# the leaves of one network as fabric._leaf_layout lays them out (the oversubscription bound)
P_LEAF_HOSTS = _S + 245  # host ports of a full leaf [ports]
P_LEAF_E = _S + 246  # ports a domain puts on one network (1 per rail network, R on a fat-tree) [ports]
P_LEAF_UP = _S + 247  # uplinks of a full leaf [links]
P_LEAF_ULAST = _S + 248  # uplinks of the job's last leaf (fewer when part-filled) [links]
P_LEAF_LAST = _S + 249  # index of the job's last leaf along the domains [-]
# NCCL v2.30.7-1 tuner details (ncclTopoTuneModel / ncclTopoGetAlgoTime, search.cc)
P_T_TREE_PATTERN = _S + 250  # tree bus bandwidth factor when the tree graph is pattern TREE (one GPU per node) [-]
P_T_NVLSTREE_CORR_LOG_END = _S + 251  # NVLS-tree all-reduce takes the tree correction below this bucket (0: never) [-]
P_NIC_PER_GPU = _S + 252  # back-end NICs per GPU of a node [-]
P_T_CND_MAX_HEADS = _S + 253  # CollNet Direct heads per node at most (NCCL_MAX_DIRECT_ARITY + 1) [-]
P_SIZE = _S + 254
# entries of the vector parameters (the others are one entry each)
N_CORR_BUCKETS = 27  # power-of-two size buckets of the tuner correction tables (RCCL's width; NCCL's padded)
VECTOR_LENGTHS = {"BASE": 3 * N_TABLE_ALGOS, "HWI": 3 * N_TABLE_ALGOS, "HWN": 3 * N_TABLE_ALGOS, "WIRE": 3,
                  "T_LLMAX": 3, "T_CH_RLL128": 3, "T_CH_TLL128": 3, "T_CH_TREE": 3, "T_CH_NVLSTREE": 3,
                  "T_NET": 2 * 3, "T_RATIO": 2 * 2 * 3, "T_LL_MAX": 3, "T_TREE_CORR": 3 * N_CORR_BUCKETS,
                  "T_RING_CORR": 3 * N_CORR_BUCKETS}


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def _flog2(x):
    """floor(log2 x) for x >= 1 (NCCL's log2i); -1 for x < 1. ceil(log2 x) of an integer
    x >= 1 is ``_flog2(x - 1) + 1`` (0 for x = 1)."""
    if x < 1:
        return -1
    c = 0
    while x >= 2:
        x = x // 2
        c += 1
    return c


# ---------------------------------------------------------------------------------------
# Which algorithms the library implements for an op (and the hardware allows)
# ---------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def algo_enabled(op, algo, n, k, P):
    """1 if the library runs ``algo`` for ``op`` on this placement, else 0."""
    if n < 2:
        return 0
    N = n // k
    multi = N > 1
    nccl = P[P_LIB] < 0.5
    switch = P[P_MESH] < 0.5
    if op == OP_ALL_TO_ALL or op == OP_SEND_RECV:
        if algo == ALG_P2P:
            return 1
        if algo == ALG_PXN and op == OP_ALL_TO_ALL and multi and k > 1:
            return 1
        return 0
    if algo == ALG_P2P or algo == ALG_PXN:
        return 0
    if algo == ALG_RING:
        return 1
    if op == OP_BROADCAST:
        return 0
    if op == OP_ALL_REDUCE:
        if algo == ALG_TREE:
            return 1
        if algo == ALG_ALLPAIRS:
            if P[P_ALLPAIRS] > 0.5 and not multi and k == int(P[P_AP_GPUS]):
                return 1
            return 0
        if not nccl:
            return 0  # RCCL: no NVLS, no CollNet without a SHARP plugin, no PAT for all-reduce
        if algo == ALG_NVLS:
            if P[P_NVLS] > 0.5 and switch and k >= P[P_NVLS_MIN] and (not multi or P[P_SHARP] > 0.5):
                return 1
            return 0
        if algo == ALG_NVLSTREE:
            if P[P_NVLS] > 0.5 and switch and k >= P[P_NVLS_MIN] and multi:
                return 1
            return 0
        if algo == ALG_COLLNET_DIRECT:
            if P[P_SHARP] > 0.5 and multi and switch:
                return 1
            return 0
        if algo == ALG_COLLNET_CHAIN:
            if P[P_SHARP] > 0.5 and multi:
                return 1
            return 0
        return 0
    # reduce-scatter / all-gather: RCCL ring only; NCCL also PAT (one GPU per node) and
    # CollNet Direct (in-network, one NIC per GPU)
    if not nccl:
        return 0
    if algo == ALG_PAT and multi and k == 1:
        return 1
    if algo == ALG_COLLNET_DIRECT and P[P_SHARP] > 0.5 and multi and switch:
        return 1
    return 0


@njit(cache=True, no_cfunc_wrapper=True)
def proto_enabled(op, algo, proto, P):
    """1 if the library runs ``algo`` with ``proto`` (LL128 is off on AMD by default;
    NVLS, CollNet and PAT are Simple only)."""
    if algo == ALG_NVLS or algo == ALG_NVLSTREE or algo == ALG_COLLNET_DIRECT \
            or algo == ALG_COLLNET_CHAIN or algo == ALG_PAT:
        return 1 if proto == PROTO_SIMPLE else 0
    if proto == PROTO_LL128 and P[P_LIB] > 0.5:
        return 0
    if algo == ALG_P2P or algo == ALG_PXN:
        return 0 if proto == PROTO_LL128 else 1
    return 1


# ---------------------------------------------------------------------------------------
# Latency (the library's per-hop model), shared by cost and tuner
# ---------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def latency(op, algo, proto, n, k, P, net_table):
    """Latency term of one collective [s]; ``net_table`` is P_HWN (cost) or the tuner's."""
    N = n // k
    multi = N > 1
    lgN = _flog2(N - 1) + 1  # ceil(log2 N)
    t_algo = algo
    if algo == ALG_ALLPAIRS or algo == ALG_P2P or algo == ALG_PXN:
        t_algo = ALG_RING
    j = 3 * t_algo + proto  # entry of the latency tables
    base = P[P_BASE + j]
    intra = P[P_HWI + j]
    tuner_rccl = net_table != P_HWN and P[P_LIB] > 0.5
    if tuner_rccl and (t_algo == ALG_RING or t_algo == ALG_TREE):
        inter = P[P_T_NET + 3 * t_algo + proto]
    else:
        inter = P[P_HWN + j]
    if k == 1 and algo != ALG_PAT:  # one rank per node: latencies fully exposed (Tree's)
        inter = P[P_T_NET + 3 + proto] if tuner_rccl else P[P_HWN + 3 * ALG_TREE + proto]
    inter += P[P_LATINTER]
    if algo == ALG_RING:
        if op == OP_BROADCAST:
            return base + (n - 1) * (inter if multi else intra)
        nsteps = 2 * (n - 1) if op == OP_ALL_REDUCE else n - 1
        ninter = 0
        if multi:
            ninter = 2 * (N - 1) if op == OP_ALL_REDUCE else N - 1
            ovh = P[P_NETOVH] * (P[P_NETOVH_SIMPLE] if proto == PROTO_SIMPLE else 1.0)
            if ovh > intra:
                intra = ovh
        return base + (nsteps - ninter) * intra + ninter * inter
    if algo == ALG_TREE:
        return base + 2.0 * ((k - 1) * intra + lgN * inter)
    if algo == ALG_NVLS:
        lat = intra
        if multi:
            lat += inter
        return lat
    if algo == ALG_NVLSTREE:
        return base + intra + 2.0 * lgN * inter
    if algo == ALG_COLLNET_DIRECT:
        m = 1 if k > 1 else 0
        return base + 2.0 * (m * intra + (k - 1) * P[P_ARITY]) + inter
    if algo == ALG_COLLNET_CHAIN:
        return base + 2.0 * (k - 1) * intra + inter
    if algo == ALG_PAT:
        return base + lgN * inter / P[P_PAT_DIV] + n * P[P_PAT_RANK]
    if algo == ALG_ALLPAIRS:
        return base + 2.0 * intra  # one-shot: a reduce-scatter hop and an all-gather hop
    # grouped send/recv (all-to-all, send_recv): one hop per fabric, every remote message
    # posted; PXN adds the hop to the GPU on the destination's rail
    lat = base + (intra if k > 1 else 0.0)
    if algo == ALG_PXN or (P[P_PXN] > 0.5 and multi and k > 1 and op == OP_ALL_TO_ALL):
        lat += intra
    if multi:
        lat += inter
        if op == OP_ALL_TO_ALL:
            lat += (n - k) * P[P_NETOVH]
        else:
            lat += P[P_NETOVH]
    return lat


# ---------------------------------------------------------------------------------------
# The cost on the hardware
# ---------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def collective_cost(op, algo, proto, size, n, k, P):
    """Time [s] of one collective run with ``algo`` and ``proto``; inf when the library
    does not run that pair here.

    op, algo, proto: codes (OP_*, ALG_*, PROTO_*); size: bytes as nccl-tests defines them for
    ``op`` [B]; n: ranks; k: ranks per scale-up domain (n = k x domains); P: parameters.
    """
    if n < 1 or k < 1 or size < 0.0 or n % k != 0:
        return np.inf
    if n == 1:
        return 0.0
    if algo_enabled(op, algo, n, k, P) == 0:
        return np.inf
    # the protocols the library runs ``algo`` with: :func:`proto_enabled`, written out here
    # and in best_collective (a kernel of its own costs more to compile than it saves)
    if algo == ALG_NVLS or algo == ALG_NVLSTREE or algo == ALG_COLLNET_DIRECT \
            or algo == ALG_COLLNET_CHAIN or algo == ALG_PAT:
        if proto != PROTO_SIMPLE:
            return np.inf
    elif proto == PROTO_LL128 and (P[P_LIB] > 0.5 or algo == ALG_P2P or algo == ALG_PXN):
        return np.inf
    N = n // k
    multi = N > 1
    if algo == ALG_TREE and proto == PROTO_SIMPLE and not multi and P[P_TREE_SINGLE_OK] < 0.5:
        return np.inf
    fn = (n - 1.0) / n
    # scale-up bandwidth a GPU can drive towards the other k-1 GPUs of its group: the k-1
    # links that join them on a mesh, every link through a switch (written out here and in
    # the tuner and lower_bound: a kernel of its own costs more to compile than it saves)
    if k <= 1:
        B_up = np.inf
    elif P[P_MESH] > 0.5:
        B_up = (k - 1) * P[P_LINK]
    else:
        B_up = P[P_NLINKS] * P[P_LINK]
    b_nic = P[P_BNIC] * P[P_FABEFF]
    nch = P[P_NCH_RING]
    gamma = P[P_GAMMA]
    red = 0.0
    if op == OP_ALL_REDUCE or op == OP_REDUCE_SCATTER:
        red = fn * size * gamma
    lat = latency(op, algo, proto, n, k, P, np.int64(P_HWN))  # typed, not a literal: one compile

    if algo == ALG_RING or algo == ALG_TREE or algo == ALG_ALLPAIRS:
        # b: the raw bandwidth [B/s] the algorithm's nch channels share
        if algo == ALG_ALLPAIRS:
            nch = P[P_AP_NCH_LL4] if size <= P[P_AP_LL4] else P[P_AP_NCH]
            b = B_up
        else:
            if algo == ALG_TREE and multi and P[P_LIB] > 0.5:
                nch = k * 1.0  # RCCL's trees across nodes: one channel per NIC (rail)
            if multi:
                b = k * b_nic
                if k > 1:
                    bu = B_up * k / (k - 1.0)
                    if bu < b:
                        b = bu
            else:
                b = B_up
        # the bandwidth the protocol reaches on it: the wire efficiency, capped by the
        # channels' throughput (RCCL: per-channel rate; NCCL: its LL bus-bandwidth ceiling
        # and LL128 per-channel ceiling)
        bw = b * P[P_WIRE + proto]
        if P[P_LIB] < 0.5:
            idx = 0 if N == 1 else (1 if N == 2 else 2)
            if proto == PROTO_LL:
                cap = P[P_T_LLMAX + idx]
            elif proto == PROTO_LL128:
                cap = nch * P[P_T_CH_RLL128 + idx]
            else:
                cap = np.inf
        elif proto == PROTO_SIMPLE:
            cap = nch * P[P_CH_SIMPLE]
        elif proto == PROTO_LL:
            cap = nch * P[P_CH_LL]
        else:
            cap = np.inf
        bw = bw if bw < cap else cap
        if algo == ALG_ALLPAIRS:
            if proto == PROTO_LL and size > P[P_AP_LL8]:
                return np.inf
            if size > P[P_AP_SIMPLE] or size < P[P_AP_MIN]:
                return np.inf
            t = 2.0 * (k - 1.0) / k * size / bw
            return lat + (t if t > red else red)
        if multi:
            # each network step of a channel carries one chunk and then pays the host's post
            # overhead: ring steps move S/(n·channels); trees pipeline S/channels in chunks
            # NCCL/RCCL halve (down to 128 KiB) while a channel would get fewer than 4
            # chunks per level of tree depth (enqueue.cc); the first chunk's overhead is in
            # the hop latency
            ch_Bps = bw / nch
            if algo == ALG_TREE:
                chunk = P[P_STEP_BYTES] if proto == PROTO_SIMPLE else P[P_LL_STEP_BYTES]
                depth = (k - 1) + _flog2(N)
                per_level = P[P_TREE_CHUNKS_PER_LEVEL]
                while size / (nch * chunk) < per_level * depth and chunk > P[P_TREE_MIN_CHUNK]:
                    chunk /= 2
                nchunks = size / (nch * chunk)
                if nchunks > 1.0:
                    t_c = chunk / ch_Bps
                    bw *= t_c / (t_c + P[P_NETOVH] * (1.0 - 1.0 / nchunks))
            else:
                # a ring step carries size/(n·channels) data bytes (at most the protocol's
                # step: Simple 512 KiB, LL/LL128 their step's payload) on the wire at the
                # channel's rate, and each message pays the host's post overhead; under a
                # byte per step there is nothing to pipeline (the overhead is in the latency)
                chunk = size / (n * nch)
                step = P[P_STEP_BYTES] if proto == PROTO_SIMPLE else P[P_LL_STEP_BYTES]
                c = chunk if chunk < step else step
                if not (c < 1.0 or P[P_NETOVH] <= 0.0):
                    bw *= c / (c + P[P_NETOVH] * P[P_WIRE + proto] * (ch_Bps / P[P_WIRE + proto]))
        if algo == ALG_TREE:
            # a reduce up the tree and a broadcast down it: a rank with both a parent and a
            # child sends S up and S down (2S); with 2 ranks there is none (the leaf sends S
            # up, the root S down, on the two directions of the link): S, as the ring's
            # 2(n-1)/n S
            data = 2.0 * size if n > 2 else size
        elif op == OP_ALL_REDUCE:
            data = 2.0 * fn * size
        elif op == OP_BROADCAST:
            data = size
        else:
            data = fn * size
        t = data / bw
        return lat + (t if t > red else red)

    if algo == ALG_NVLS or algo == ALG_NVLSTREE:
        b_sw = P[P_NVLS_FRAC] * P[P_NLINKS] * P[P_LINK]  # algbw through the switch
        t = size / b_sw
        if multi:
            if algo == ALG_NVLS:        # in-network reduction across nodes (IB SHARP)
                tn = size / (k * b_nic)
            else:                       # a tree across nodes on each GPU's shard
                tn = 2.0 * size / (k * b_nic)
            if tn > t:
                t = tn
        return lat + (t if t > red else red)

    if algo == ALG_COLLNET_DIRECT or algo == ALG_COLLNET_CHAIN:
        # the switches reduce: each node sends its data once and receives the result once
        if op == OP_ALL_REDUCE:
            t = size / (k * b_nic)
            if k > 1:
                tu = 2.0 * (k - 1.0) / k * size / B_up
                if tu > t:
                    t = tu
        else:
            t = fn * size / (k * b_nic)
        return lat + (t if t > red else red)

    if algo == ALG_PAT:
        t = fn * size / b_nic
        return lat + (t if t > red else red)

    # grouped send/recv: all-to-all and send_recv
    rails_only = P[P_FABRIC] < 0.5
    pxn = algo == ALG_PXN or P[P_PXN] > 0.5
    if op == OP_SEND_RECV:
        # bandwidth between one pair of GPUs of a domain (mesh: one link)
        b_pair = P[P_LINK] if P[P_MESH] > 0.5 else P[P_NLINKS] * P[P_LINK]
        if multi:
            b = b_nic
            if k > 1 and b_pair < b:
                b = b_pair
        else:
            b = b_pair
        return lat + size / (b * P[P_WIRE + proto])
    w = P[P_WIRE + proto]
    if not multi:
        return lat + (k - 1.0) / k * size / (w * B_up)
    if rails_only and k > 1 and not pxn:
        return np.inf  # cross-rail pairs have no path on a rails-only fabric without PXN
    remote = (n - k) / n * size
    up = (k - 1.0) / n * size
    stage = 0.0
    if pxn and k > 1:
        fwd = remote * (k - 1.0) / k   # remote bytes that first hop to the GPU on the right rail
        up += fwd
        stage = 2.0 * fwd / P[P_HBM]   # written into the proxy GPU's HBM, read by its NIC
    t = remote / (w * b_nic)
    if k > 1:
        tu = up / (w * B_up)
        if tu > t:
            t = tu
    leave = leaf_uplink_time(N, P) * size / (w * b_nic)
    if leave > t:
        t = leave
    if stage > t:
        t = stage
    return lat + t


# ---------------------------------------------------------------------------------------
# The library's tuner: which algorithm and protocol "auto" runs
# ---------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def leaf_uplink_time(N, P):
    """The leaf-uplink bound of a uniform all-to-all over ``N`` domains under even spraying, in
    units of S / b_nic (S the bytes per GPU, b_nic its NIC rate) [-]; 0 when nothing crosses an
    uplink.

    Per network the collective's H = N e ports (e per domain) fill leaves of h ports in turn:
    L full leaves and one with r = H - L h ports. A leaf of p ports holding c domains' ports
    (c = 1 where a domain's ports spread over several leaves) sends p (N - c)/N port-loads to
    other leaves, spread over them in proportion to their ports, each leaf pair evenly over
    the spine planes both cable: U for two full leaves, u_r for the part-filled one (U, or the
    fewer uplinks the job's last leaf cables when it is that leaf). The busiest plane is the
    bound: a part-filled leaf's r (N - c_r) / (N u_r); a full leaf's h (N - c)/N × (its share
    to the other full leaves / U + its share to the part-filled leaf / u_r), which is
    σ_eff (N - c)/N with σ_eff = h / U when u_r = U. Applied only for σ > 1: at σ = 1 the NIC
    term (N - 1)/N is never smaller."""
    h = P[P_LEAF_HOSTS]
    e = P[P_LEAF_E]
    H = N * e
    if P[P_OVERSUB] <= 1.0 or H <= h or h <= 0.0:
        return 0.0
    L = np.floor(H / h)
    r = H - L * h
    U = P[P_LEAF_UP]
    ur = P[P_LEAF_ULAST] if L == P[P_LEAF_LAST] else U
    t = 0.0
    if L >= 1.0:
        out = h * (N - max(1.0, np.floor(h / e))) / N
        t = out * ((H - h - r) / (H - h) / U + r / (H - h) / ur)
    if r > 0.0:
        tp = r * (N - max(1.0, np.floor(r / e))) / (N * ur)
        if tp > t:
            t = tp
    return t


@njit(cache=True, no_cfunc_wrapper=True)
def tuner_time(op, algo, proto, size, n, k, P):
    """The library's predicted time [s] for one pair (inf when not enabled): NCCL's or
    RCCL's ``ncclTopoTuneModel`` bandwidth and latency with ``ncclTopoGetAlgoTime``'s
    corrections. Used only to choose."""
    if algo_enabled(op, algo, n, k, P) == 0 or proto_enabled(op, algo, proto, P) == 0:
        return np.inf
    if algo == ALG_P2P or algo == ALG_PXN:   # not tuned: grouped send/recv
        return collective_cost(op, algo, proto, size, n, k, P)
    return _tuner_time_enabled(op, algo, proto, size, n, k, P)


@njit(cache=True, no_cfunc_wrapper=True)
def _tuner_time_enabled(op, algo, proto, size, n, k, P):
    """:func:`tuner_time` of an enabled pair of a tuned algorithm (not P2P / PXN, which the
    callers cost with :func:`collective_cost`). Calls no collective_cost, so the two compile
    side by side rather than one inside the other."""
    N = n // k
    multi = N > 1
    if algo == ALG_TREE and proto == PROTO_SIMPLE and not multi and P[P_TREE_SINGLE_OK] < 0.5:
        return np.inf
    if algo == ALG_ALLPAIRS:
        # MSCCL: its scheduler runs the XML program whose [minBytes, maxBytes] holds the size,
        # protocol included (msccl_lifecycle.cc mscclInternalSchedulerSelectAlgo); the tuner's
        # llProtoRanges below never see it
        if size < P[P_AP_MIN]:
            return np.inf
        if size <= P[P_AP_LL8]:
            return 0.0 if proto == PROTO_LL else np.inf
        if size <= P[P_AP_SIMPLE]:
            return 0.0 if proto == PROTO_SIMPLE else np.inf
        return np.inf
    nccl = P[P_LIB] < 0.5
    if not nccl and proto == PROTO_LL and op <= OP_ALL_GATHER and size > P[P_T_LL_MAX + op]:
        return np.inf  # RCCL's llProtoRanges: LL only for small messages
    idx = 0 if N == 1 else (1 if N == 2 else 2)
    nch = P[P_NCH_RING]
    if k <= 1:  # scale-up bandwidth towards the other k-1 GPUs, as in collective_cost
        B_up = np.inf
    elif P[P_MESH] > 0.5:
        B_up = (k - 1) * P[P_LINK]
    else:
        B_up = P[P_NLINKS] * P[P_LINK]
    b_inter = (k * P[P_BNIC]) / nch if multi else B_up / nch
    b_intra = B_up / nch
    nsteps = 2.0 * (n - 1) if op == OP_ALL_REDUCE else (n - 1.0 if op != OP_BROADCAST else n * 1.0)
    collnet = algo == ALG_COLLNET_DIRECT or algo == ALG_COLLNET_CHAIN
    bw = b_intra if (N <= 2 or collnet) else b_inter
    if nccl and (algo == ALG_NVLS or algo == ALG_NVLSTREE):
        intra_bw = b_intra * P[P_T_NVLS_EFF] * (nch - 1.0) / nch
        if op == OP_ALL_REDUCE:
            intra_bw *= 2.0
        else:
            intra_bw *= (k - 1.0) / k
        inter_bw = b_inter * (2.0 if (N <= 2 and algo == ALG_NVLSTREE) else 1.0)
        bw = intra_bw if intra_bw < inter_bw else inter_bw
        if algo == ALG_NVLSTREE and P[P_T_CH_NVLSTREE + idx] < bw:
            bw = P[P_T_CH_NVLSTREE + idx]
    bus = nch * bw
    if nccl:
        if algo == ALG_RING and proto == PROTO_LL:
            bus = min(P[P_T_LLMAX + idx], P[P_T_RING_LL] * bus)
        if algo == ALG_RING and proto == PROTO_LL128:
            bus = min(P[P_T_RING_LL128] * bus, nch * P[P_T_CH_RLL128 + idx])
        if algo == ALG_TREE and op == OP_ALL_REDUCE:
            bus = min(P[P_T_TREE_AR] * bus, nch * P[P_T_CH_TREE + idx])
        if algo == ALG_TREE and proto == PROTO_LL:
            bus = min(bus / P[P_T_TREE_LL_DIV], P[P_T_LLMAX + idx])
        if algo == ALG_TREE and proto == PROTO_LL128:
            f = P[P_T_TREE_LL128_1N] if N == 1 else P[P_T_TREE_LL128_MN]
            bus = min(bus * f, nch * P[P_T_CH_TLL128 + idx])
        if algo == ALG_TREE and k == 1:
            bus *= P[P_T_TREE_PATTERN]   # one GPU per node: the tree graph's pattern is TREE
        if algo == ALG_PAT:
            bus *= P[P_T_PAT]
        if algo == ALG_COLLNET_DIRECT:
            if op == OP_ALL_REDUCE:
                # GPU/NIC ratio: heads are GPUs with a local NIC, at most the arity + 1
                heads = min(P[P_T_CND_MAX_HEADS], float(k), max(1.0, np.floor(k * P[P_NIC_PER_GPU] + 1e-9)))
                f = k / heads
                f -= (f - 1.0) / 2.0
                bus /= f
                bus *= P[P_T_CND_AR]   # 1 below compute capability 9.0
            else:
                bus = k * min(b_intra, P[P_T_CND_INTER] * b_inter)
    else:
        j = 0 if algo == ALG_RING else 1
        r = P[P_T_RATIO + (0 if N <= 2 else 6) + 3 * j + proto]
        bus *= r
    if bus <= 0.0:
        return np.inf
    if not (algo != ALG_RING and (op == OP_ALL_GATHER or op == OP_REDUCE_SCATTER)):
        if algo == ALG_RING or algo == ALG_NVLS or algo == ALG_NVLSTREE:
            bus *= n / nsteps
        else:
            bus /= 2  # tree all-reduce: a reduce and a broadcast
    lat = latency(op, algo, proto, n, k, P, np.int64(-1))  # typed, not a literal: one compile
    log_size = _flog2(int(size) // int(P[P_T_BUCKET_BYTES]))
    if log_size >= 0:
        li = log_size if log_size < N_CORR_BUCKETS else N_CORR_BUCKETS - 1
        if algo == ALG_TREE and op == OP_ALL_REDUCE:
            if nccl:
                if log_size < P[P_T_TREE_CORR_LOG_END]:
                    bus *= P[P_T_TREE_CORR + N_CORR_BUCKETS * proto + li]
            else:
                bus *= P[P_T_TREE_CORR + N_CORR_BUCKETS * proto + li]
        if algo == ALG_RING and multi and not nccl:
            bus *= P[P_T_RING_CORR + N_CORR_BUCKETS * proto + li]
        if nccl and algo == ALG_NVLSTREE and op == OP_ALL_REDUCE and log_size < P[P_T_NVLSTREE_CORR_LOG_END]:
            bus *= P[P_T_TREE_CORR + N_CORR_BUCKETS * proto + li]
    if nccl and algo == ALG_RING and proto == PROTO_SIMPLE and multi and op == OP_ALL_REDUCE \
            and size / (nch * n) >= P[P_T_PLATEAU_MIN]:
        lat *= P[P_T_PLATEAU]
    if bus <= 0.0:
        return np.inf
    return lat + size / bus


def library_choice(op, size, n, k, P):
    """(algorithm, protocol) the library runs for ``op`` at ``size`` bytes ("auto"), as
    :func:`best_collective` with ``algo = -1`` picks it; (-1, -1) when nothing applies."""
    _, a, p = best_collective(op, np.int64(-1), float(size), n, k, P)
    return a, p


@njit(cache=True, no_cfunc_wrapper=True)
def best_collective(op, algo, size, n, k, P):
    """Cost of one collective: the interface the training step and serving models call.

    Parameters
    ----------
    op : OP_* code
    algo : ALG_* code, or -1 for "auto": the algorithm and protocol the library's tuner
        picks (RCCL: its MSCCL all-pairs windows first), costed on the hardware
    size : S in bytes as nccl-tests defines it for ``op`` [B]
    n : ranks in the group [-]; n = 1 costs 0 s
    k : ranks of the group inside ONE scale-up domain [-], 1 <= k <= P[P_G] and n a
        multiple of k; the group spans n / k domains with k ranks in each. On a mesh
        (xGMI) those k GPUs are joined by k − 1 links each, whatever the physical domain
        size (2 ranks of an 8-GPU MI300X node: one link); through NVSwitch every GPU keeps
        its full NVLink bandwidth (an 8-GPU job inside an NVL72 rack: n = k = 8)
    P : ``infra_lab.collectives.collective_time_params(hw).array``; P[P_G] is the job's GPUs
        per scale-up domain (``HardwareConfig.domain_gpus``), P[P_DPHYS] the physical domain

    Returns (time [s], algorithm code, protocol code). With a given ``algo`` the fastest
    protocol the library allows for it is costed. Time is inf when nothing applies. A
    zero-byte collective costs 0 s, (-1, -1): NCCL's ``taskAppend`` (src/enqueue.cc) returns
    without enqueuing work for a zero count; send/recv keep their handshake and are costed.
    """
    if n <= 1:
        return 0.0, -1, -1
    if size <= 0.0 and op != OP_SEND_RECV:
        return 0.0, -1, -1
    if algo < 0:
        # the library's choice: the enabled pair its tuner predicts fastest (the loop is
        # written here, not in a kernel of its own, so that a cold start compiles one level
        # fewer over the tuner and the cost)
        best_t = np.inf
        a = np.int64(-1)  # typed, not a literal: the calls below compile once
        p = np.int64(-1)
        for aa in range(N_ALGOS):
            if aa == ALG_PXN:
                continue  # PXN is a transport choice (P[P_PXN]), not a tuned algorithm
            if algo_enabled(op, aa, n, k, P) == 0:
                continue
            for pp in range(3):
                # :func:`proto_enabled`, written out (as in collective_cost)
                if aa == ALG_NVLS or aa == ALG_NVLSTREE or aa == ALG_COLLNET_DIRECT \
                        or aa == ALG_COLLNET_CHAIN or aa == ALG_PAT:
                    if pp != PROTO_SIMPLE:
                        continue
                elif pp == PROTO_LL128 and (P[P_LIB] > 0.5 or aa == ALG_P2P or aa == ALG_PXN):
                    continue
                if aa == ALG_P2P:   # not tuned: grouped send/recv
                    t = collective_cost(op, aa, pp, size, n, k, P)
                else:
                    t = _tuner_time_enabled(op, aa, pp, size, n, k, P)
                if t < best_t:
                    best_t = t
                    a = aa
                    p = pp
        if a < 0:
            return np.inf, -1, -1
        return collective_cost(op, a, p, size, n, k, P), a, p
    best_t = np.inf
    best_p = -1
    for p in range(3):
        t = collective_cost(op, algo, p, size, n, k, P)
        if t < best_t:
            best_t = t
            best_p = p
    return best_t, algo, best_p


@njit(cache=True, no_cfunc_wrapper=True)
def fastest_collective(op, size, n, k, P):
    """The fastest pair on the hardware (not what the library picks): (time, algo, proto);
    a zero-byte collective other than send/recv costs 0 s, as in :func:`best_collective`."""
    if n <= 1 or (size <= 0.0 and op != OP_SEND_RECV):
        return 0.0, -1, -1
    best_t = np.inf
    best_a = -1
    best_p = -1
    for a in range(N_ALGOS):
        for p in range(3):
            t = collective_cost(op, a, p, size, n, k, P)
            if t < best_t:
                best_t = t
                best_a = a
                best_p = p
    return best_t, best_a, best_p


@njit(cache=True, no_cfunc_wrapper=True)
def collective_times(op, algo, sizes, n, k, P):
    """Vectorised :func:`best_collective` over message sizes [B] -> times [s]."""
    out = np.empty(sizes.shape[0])
    for i in range(sizes.shape[0]):
        out[i] = best_collective(op, algo, sizes[i], n, k, P)[0]
    return out


@njit(cache=True, no_cfunc_wrapper=True)
def lower_bound(op, size, n, k, P):
    """Chan et al. (2007) lower bound in the same model: (latency, bandwidth, reduction)
    terms [s]. Every pair's modelled time is at least latency + max(bandwidth, reduction)
    except where the hardware reduces in flight (NVLS, SHARP), which the bound excludes.
    Zero bytes (send/recv aside) launch nothing, so the bound is 0 as the cost is."""
    N = n // k
    if n <= 1 or (size <= 0.0 and op != OP_SEND_RECV):
        return 0.0, 0.0, 0.0
    base = np.inf
    a_up = np.inf
    a_net = np.inf
    for j in range(3 * N_TABLE_ALGOS):
        if P[P_BASE + j] < base:
            base = P[P_BASE + j]
        if P[P_HWI + j] < a_up:
            a_up = P[P_HWI + j]
        if P[P_HWN + j] < a_net:
            a_net = P[P_HWN + j]
    a_net += P[P_LATINTER]
    lat = base + (a_up if k > 1 else 0.0) + (_flog2(N - 1) + 1) * a_net
    if k <= 1:  # scale-up bandwidth towards the other k-1 GPUs, as in collective_cost
        B_up = 0.0
    elif P[P_MESH] > 0.5:
        B_up = (k - 1) * P[P_LINK]
    else:
        B_up = P[P_NLINKS] * P[P_LINK]
    b_nic = P[P_BNIC] * P[P_FABEFF]
    B_inj = B_up + (b_nic if N > 1 else 0.0)
    fn = (n - 1.0) / n
    if op == OP_ALL_REDUCE:
        bw = 2.0 * fn * size / B_inj
        if N > 1:
            bw = max(bw, 2.0 * (N - 1.0) / N * size / (k * b_nic))
        red = fn * size * P[P_GAMMA]
    elif op == OP_REDUCE_SCATTER or op == OP_ALL_GATHER:
        bw = fn * size / B_inj
        if N > 1:
            bw = max(bw, (N - 1.0) / N * size / (k * b_nic))
        red = fn * size * P[P_GAMMA] if op == OP_REDUCE_SCATTER else 0.0
    elif op == OP_ALL_TO_ALL:
        bw = fn * size / B_inj
        if N > 1:
            bw = max(bw, (n - k) / n * size / b_nic)
        red = 0.0
    else:  # broadcast, send_recv
        bw = size / B_inj
        if N > 1:
            bw = max(bw, size / (k * b_nic))
        red = 0.0
    return lat, bw, red


# ---------------------------------------------------------------------------------------
# The serving engines' own tensor-parallel all-reduce (P2P kernels inside one node)
# ---------------------------------------------------------------------------------------
ALG_ONESHOT, ALG_TWOSHOT = N_ALGOS, N_ALGOS + 1
"""Engine all-reduce kernels (vLLM/SGLang custom all-reduce, TensorRT-LLM ONESHOT/TWOSHOT,
aiter under ATOM): not library algorithms, so outside ``range(N_ALGOS)`` and never picked by
:func:`best_collective`; only :func:`engine_allreduce` runs them."""
# the engine's rule as a float vector (infra_lab.serving.engine_allreduce_rule builds it from
# data/serving/engine_allreduce.csv; all zeros: no engine kernel, the library runs)
(E_ON, E_WS_MASK, E_MAX, E_MAX_TP2, E_MAX_INCL, E_OS_TP4, E_OS_TP8) = range(7)
N_E = 7
# E_ON: 1 where the stack has an engine all-reduce; E_WS_MASK: sum of 2**n over its world
# sizes n (each < 53, exact in a float);
# E_MAX, E_MAX_TP2: largest message [B] above / at 2 ranks; E_MAX_INCL: 1 when
# a message of exactly that size still runs the engine kernel; E_OS_TP4, E_OS_TP8: one-shot
# strictly below this message size [B] at <= 4 ranks / more


@njit(cache=True, no_cfunc_wrapper=True)
def engine_allreduce_choice(E, size, n, k):
    """The all-reduce a serving engine runs for a ``size``-byte message (the whole buffer)
    over ``n`` ranks, ``k`` of them per scale-up domain: ALG_ONESHOT, ALG_TWOSHOT or -1 (the
    library collective). The engine kernels work over P2P buffers inside one node, so a
    group that spans domains (n != k), a world size the engine does not list, or a message
    above its limit (at the limit: ``E_MAX_INCL``) goes to the library. 2 ranks: one-shot;
    otherwise one-shot strictly below ``E_OS_TP4`` (n <= 4) or ``E_OS_TP8``, else two-shot."""
    if E[E_ON] < 0.5 or n < 2 or n != k or 2.0 ** n > E[E_WS_MASK]:
        return -1  # (2**n above the mask: bit n is not set, and the shift below stays in range)
    if (int(E[E_WS_MASK]) >> n) & 1 == 0:
        return -1
    lim = E[E_MAX_TP2] if n == 2 else E[E_MAX]
    if size > lim or (size == lim and E[E_MAX_INCL] < 0.5):
        return -1
    if n == 2:
        return ALG_ONESHOT
    below = E[E_OS_TP4] if n <= 4 else E[E_OS_TP8]
    return ALG_ONESHOT if size < below else ALG_TWOSHOT


@njit(cache=True, no_cfunc_wrapper=True)
def engine_kernel_cost(algo, size, n, P):
    """Time [s] of one engine all-reduce kernel (ALG_ONESHOT or ALG_TWOSHOT) of ``size``
    bytes over ``n`` ranks of one scale-up domain.

    APPROXIMATION (the same for every vendor): a GPU drives B = (n − 1) links on a full
    mesh (one xGMI link per peer) or its whole NVLink port through a switch (P_NLINKS
    links), each at the achieved link bandwidth P_LINK;

    * one-shot: every rank reads the whole message from each of the n − 1 peers and reduces
      locally: (n − 1)·S over B (on a mesh S per link, in parallel), reduction (n − 1)·S·γ;
      latency: the library's ring/LL base latency (launch) + 2 scale-up hops (the flag
      barrier and the read);
    * two-shot: reduce-scatter then all-gather over P2P: 2·(n − 1)/n·S over B, reduction
      (n − 1)/n·S·γ; latency: base + 4 hops (two barriers, two data phases);

    time = latency + max(transfer, reduction), as the library algorithms are costed. The
    engines' buffer copy into the IPC buffer, their block counts and the fused variants
    are not modelled."""
    if n <= 1 or size <= 0.0:
        return 0.0
    if P[P_MESH] > 0.5:
        B = (n - 1) * P[P_LINK]
    else:
        B = P[P_NLINKS] * P[P_LINK]
    j = 3 * ALG_RING + PROTO_LL
    base = P[P_BASE + j]
    hop = P[P_HWI + j]
    if algo == ALG_ONESHOT:
        t = (n - 1.0) * size / B
        red = (n - 1.0) * size * P[P_GAMMA]
        lat = base + 2.0 * hop
    else:
        t = 2.0 * (n - 1.0) / n * size / B
        red = (n - 1.0) / n * size * P[P_GAMMA]
        lat = base + 4.0 * hop
    return lat + (t if t > red else red)


@njit(cache=True, no_cfunc_wrapper=True)
def engine_allreduce(E, size, n, k, P):
    """(time [s], algorithm code) of one tensor-parallel all-reduce as the serving engine
    with rule ``E`` runs it: its own one-shot / two-shot kernel where
    :func:`engine_allreduce_choice` says so (:func:`engine_kernel_cost`), else the library
    collective the tuner picks (:func:`best_collective`)."""
    if n <= 1 or size <= 0.0:
        return 0.0, -1
    a = engine_allreduce_choice(E, size, n, k)
    if a < 0:
        t, aa, _p = best_collective(np.int64(OP_ALL_REDUCE), np.int64(-1), size, n, k, P)
        return t, aa
    return engine_kernel_cost(a, size, n, P), a
