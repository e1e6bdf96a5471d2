"""Plain-Python reference of the collective model, written separately from the numba kernel
(:mod:`infra_lab._kernels.collectives`) from the same public formulas: NCCL's and RCCL's
``tuning.cc`` (latency model, tuner bandwidths and corrections), ``enqueue.cc`` (tree
chunking), ``device.h`` (protocol line formats) and the physical model of
:mod:`infra_lab.collectives`.

It works on named parameters (``CollectiveParams.named()``: a dict keyed by the kernel's
index names without ``P_``) for the hardware and the library tables, and reads the tuner's
and the tree chunking's library constants by their row names through the public
:func:`infra_lab.collectives.physics_constants` (data/network_physics.csv), not from the
kernel's vector; it describes each algorithm as a small record of which ops it serves and
how its latency and data volume are counted, and otherwise uses only ``math``. The tests
compare it with the kernel over random cases; agreement checks the kernel's index
arithmetic and control flow against an independent statement of the model.
"""

from __future__ import annotations

import math

OPS = ("all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all", "send_recv")
ALGOS = ("ring", "tree", "nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat",
         "allpairs", "p2p", "pxn")
PROTOS = ("LL", "LL128", "Simple")
TABLE = ("ring", "tree", "nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat")


def _vec(p: dict, name: str, i: int) -> float:
    """Entry i of a vector parameter stored flat in the kernel's layout."""
    return p[f"{name}+{i}"]


def named_vector(named: dict, array) -> dict:
    """Expand CollectiveParams.named() with every vector entry as 'NAME+i' (and the width of
    the correction tables as 'CORR_BUCKETS')."""
    from . import collectives as K

    out = dict(named)
    for name, n in K.VECTOR_LENGTHS.items():
        off = getattr(K, f"P_{name}")
        for i in range(n):
            out[f"{name}+{i}"] = float(array[off + i])
    out["CORR_BUCKETS"] = K.N_CORR_BUCKETS
    return out


def _constants() -> dict:
    """The libraries' tuner and chunking constants by row name (data/network_physics.csv),
    through the public catalog function rather than the kernel's vector."""
    from ..collectives import physics_constants

    return physics_constants()


def _latency_table(p, table, algo, proto):
    return _vec(p, table, 3 * TABLE.index(algo) + PROTOS.index(proto))


def _log2_ceil(x: int) -> int:
    return 0 if x <= 1 else math.ceil(math.log2(x) - 1e-12)


def _log2_floor(x: int) -> int:
    return -1 if x < 1 else int(math.floor(math.log2(x) + 1e-12))


def _scaleup(p, k):
    if k <= 1:
        return math.inf
    return (k - 1) * p["LINK"] if p["MESH"] > 0.5 else p["NLINKS"] * p["LINK"]


def enabled(p, op, algo, proto, n, k) -> bool:
    """Does the library run (op, algo, proto) on n ranks, k per scale-up domain?"""
    if n < 2:
        return False
    nodes = n // k
    nccl = p["LIB"] < 0.5
    switched = p["MESH"] < 0.5
    one_shot_only_simple = {"nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat"}
    if algo in one_shot_only_simple and proto != "Simple":
        return False
    if proto == "LL128" and not nccl:
        return False
    if op in ("all_to_all", "send_recv"):
        if algo == "p2p":
            return proto != "LL128"
        return algo == "pxn" and op == "all_to_all" and nodes > 1 and k > 1 and proto != "LL128"
    if algo in ("p2p", "pxn"):
        return False
    if algo == "ring":
        return True
    if op == "broadcast":
        return False
    if op == "all_reduce":
        rules = {
            "tree": True,
            "allpairs": p["ALLPAIRS"] > 0.5 and nodes == 1 and k == int(p["AP_GPUS"]),
            "nvls": nccl and p["NVLS"] > 0.5 and switched and k >= p["NVLS_MIN"]
            and (nodes == 1 or p["SHARP"] > 0.5),
            "nvlstree": nccl and p["NVLS"] > 0.5 and switched and k >= p["NVLS_MIN"] and nodes > 1,
            "collnet_direct": nccl and p["SHARP"] > 0.5 and nodes > 1 and switched,
            "collnet_chain": nccl and p["SHARP"] > 0.5 and nodes > 1,
        }
        return rules.get(algo, False)
    if not nccl:
        return False  # RCCL reduce-scatter / all-gather: ring only
    if algo == "pat":
        return nodes > 1 and k == 1
    return algo == "collnet_direct" and p["SHARP"] > 0.5 and nodes > 1 and switched


def latency_s(p, op, algo, proto, n, k, tuner=False) -> float:
    """The library's latency model for one (op, algo, proto) [s]."""
    nodes = n // k
    table_algo = "ring" if algo in ("allpairs", "p2p", "pxn") else algo
    base = _latency_table(p, "BASE", table_algo, proto)
    intra = _latency_table(p, "HWI", table_algo, proto)
    rccl_tuner = tuner and p["LIB"] > 0.5
    if rccl_tuner and table_algo in ("ring", "tree"):
        net = _vec(p, "T_NET", 3 * ("ring", "tree").index(table_algo) + PROTOS.index(proto))
    else:
        net = _latency_table(p, "HWN", table_algo, proto)
    if k == 1 and algo != "pat":
        net = _vec(p, "T_NET", 3 + PROTOS.index(proto)) if rccl_tuner else _latency_table(p, "HWN", "tree", proto)
    net += p["LATINTER"]
    levels = _log2_ceil(nodes)
    if algo == "ring":
        if op == "broadcast":
            return base + (n - 1) * (net if nodes > 1 else intra)
        steps = {"all_reduce": 2 * (n - 1)}.get(op, n - 1)
        net_steps = 0
        if nodes > 1:
            net_steps = 2 * (nodes - 1) if op == "all_reduce" else nodes - 1
            intra = max(intra, p["NETOVH"] * (p["NETOVH_SIMPLE"] if proto == "Simple" else 1))
        return base + (steps - net_steps) * intra + net_steps * net
    formulas = {
        "tree": lambda: base + 2 * ((k - 1) * intra + levels * net),
        "nvls": lambda: intra + (net if nodes > 1 else 0.0),
        "nvlstree": lambda: base + intra + 2 * levels * net,
        "collnet_direct": lambda: base + 2 * (min(1, k - 1) * intra + (k - 1) * p["ARITY"]) + net,
        "collnet_chain": lambda: base + 2 * (k - 1) * intra + net,
        "pat": lambda: base + levels * net / p["PAT_DIV"] + n * p["PAT_RANK"],
        "allpairs": lambda: base + 2 * intra,
    }
    if algo in formulas:
        return formulas[algo]()
    lat = base + (intra if k > 1 else 0.0)
    forwarded = algo == "pxn" or (p["PXN"] > 0.5 and nodes > 1 and k > 1 and op == "all_to_all")
    if forwarded:
        lat += intra  # the extra hop to the proxy GPU on the destination's rail
    if nodes > 1:
        lat += net + (n - k if op == "all_to_all" else 1) * p["NETOVH"]
    return lat


def _protocol_rate(p, raw, proto, channels, nodes):
    rate = raw * _vec(p, "WIRE", PROTOS.index(proto))
    if p["LIB"] < 0.5:
        col = 0 if nodes == 1 else (1 if nodes == 2 else 2)
        caps = {"LL": _vec(p, "T_LLMAX", col), "LL128": channels * _vec(p, "T_CH_RLL128", col),
                "Simple": math.inf}
    else:
        caps = {"LL": channels * p["CH_LL"], "LL128": math.inf, "Simple": channels * p["CH_SIMPLE"]}
    return min(rate, caps[proto])


def cost_s(p, op, algo, proto, size, n, k) -> float:
    """Modelled time of one collective [s]; inf where the library does not run the pair."""
    if n < 1 or k < 1 or size < 0 or n % k:
        return math.inf
    if n == 1:
        return 0.0
    if not enabled(p, op, algo, proto, n, k):
        return math.inf
    nodes = n // k
    if algo == "tree" and proto == "Simple" and nodes == 1 and p["TREE_SINGLE_OK"] < 0.5:
        return math.inf
    frac = (n - 1) / n
    up = _scaleup(p, k)
    nic = p["BNIC"] * p["FABEFF"]
    channels = p["NCH_RING"]
    reduce_t = frac * size * p["GAMMA"] if op in ("all_reduce", "reduce_scatter") else 0.0
    lat = latency_s(p, op, algo, proto, n, k)

    def done(t_bw):
        return lat + max(t_bw, reduce_t)

    if algo in ("ring", "tree"):
        if algo == "tree" and nodes > 1 and p["LIB"] > 0.5:
            channels = float(k)
        raw = up
        if nodes > 1:
            raw = k * nic if k == 1 else min(k * nic, up * k / (k - 1))
        rate = _protocol_rate(p, raw, proto, channels, nodes)
        if nodes > 1:
            per_channel = rate / channels
            if algo == "tree":
                chunk = p["STEP_BYTES"] if proto == "Simple" else p["LL_STEP_BYTES"]
                depth = (k - 1) + _log2_floor(nodes)
                per_level = _constants()["tree_chunks_per_depth_level"]
                while size / (channels * chunk) < per_level * depth and chunk > p["TREE_MIN_CHUNK"]:
                    chunk /= 2
                count = size / (channels * chunk)
                if count > 1:
                    busy = chunk / per_channel
                    rate *= busy / (busy + p["NETOVH"] * (1 - 1 / count))
            else:
                step = p["STEP_BYTES"] if proto == "Simple" else p["LL_STEP_BYTES"]
                chunk = min(size / (n * channels), step)
                if chunk >= 1 and p["NETOVH"] > 0:
                    busy = chunk / per_channel
                    rate *= busy / (busy + p["NETOVH"])
        volume = {"all_reduce": 2 * frac * size, "broadcast": size}.get(op, frac * size)
        if algo == "tree":      # up the tree and down it: 2S out of a rank with parent and child
            volume = 2 * size if n > 2 else size     # 2 ranks: a leaf and a root, S each way
        return done(volume / rate)
    if algo == "allpairs":
        limit = p["AP_LL8"] if proto == "LL" else p["AP_SIMPLE"]
        if size > limit or size < p["AP_MIN"]:
            return math.inf
        rate = _protocol_rate(p, up, proto, p["AP_NCH_LL4"] if size <= p["AP_LL4"] else p["AP_NCH"], nodes)
        return done(2 * (k - 1) / k * size / rate)
    if algo in ("nvls", "nvlstree"):
        t = size / (p["NVLS_FRAC"] * p["NLINKS"] * p["LINK"])
        if nodes > 1:
            t = max(t, (1 if algo == "nvls" else 2) * size / (k * nic))
        return done(t)
    if algo in ("collnet_direct", "collnet_chain"):
        if op == "all_reduce":
            t = size / (k * nic)
            if k > 1:
                t = max(t, 2 * (k - 1) / k * size / up)
        else:
            t = frac * size / (k * nic)
        return done(t)
    if algo == "pat":
        return done(frac * size / nic)
    wire = _vec(p, "WIRE", PROTOS.index(proto))
    pair = p["LINK"] if p["MESH"] > 0.5 else p["NLINKS"] * p["LINK"]
    if op == "send_recv":
        rate = (min(nic, pair) if k > 1 else nic) if nodes > 1 else pair
        return lat + size / (rate * wire)
    if nodes == 1:
        return lat + (k - 1) / k * size / (wire * up)
    forward = algo == "pxn" or p["PXN"] > 0.5
    if p["FABRIC"] < 0.5 and k > 1 and not forward:
        return math.inf
    remote = (n - k) / n * size
    local = (k - 1) / n * size
    staging = 0.0
    if forward and k > 1:
        local += remote * (k - 1) / k
        staging = 2 * remote * (k - 1) / k / p["HBM"]
    terms = [remote / (wire * nic), staging]
    if k > 1:
        terms.append(local / (wire * up))
    if p["OVERSUB"] > 1:
        # the leaves of one network, filled in turn: (ports, uplinks) each
        ports, per_leaf, per_domain = nodes * p["LEAF_E"], p["LEAF_HOSTS"], p["LEAF_E"]
        leaves = []
        while sum(x for x, _ in leaves) < ports:
            i = len(leaves)
            here = min(per_leaf, ports - i * per_leaf)
            cabled = p["LEAF_ULAST"] if i == p["LEAF_LAST"] else p["LEAF_UP"]
            leaves.append((here, cabled if here < per_leaf else p["LEAF_UP"]))
        worst = 0.0
        if len(leaves) > 1:
            for a, (pa, ua) in enumerate(leaves):
                # bytes leaving leaf a (port-loads): its ports send to the destination domains
                # whose port sits under another leaf, spread in proportion to those leaves' ports
                out = pa * (nodes - max(1, pa // per_domain)) / nodes
                plane = sum(out * pb / (ports - pa) / min(ua, ub)
                            for b, (pb, ub) in enumerate(leaves) if b != a)
                worst = max(worst, plane)
        terms.append(worst * size / (wire * nic))
    return lat + max(terms)


def tuner_s(p, op, algo, proto, size, n, k) -> float:
    """The library's predicted time for one pair [s] (inf when not enabled)."""
    if not enabled(p, op, algo, proto, n, k):
        return math.inf
    nodes = n // k
    if algo == "tree" and proto == "Simple" and nodes == 1 and p["TREE_SINGLE_OK"] < 0.5:
        return math.inf
    if algo in ("p2p", "pxn"):
        return cost_s(p, op, algo, proto, size, n, k)
    if algo == "allpairs":
        # MSCCL picks its XML program by size alone, protocol included; RCCL's llProtoRanges
        # are the tuner's and do not apply to it
        if size < p["AP_MIN"]:
            return math.inf
        if size <= p["AP_LL8"]:
            return 0.0 if proto == "LL" else math.inf
        return (0.0 if proto == "Simple" else math.inf) if size <= p["AP_SIMPLE"] else math.inf
    nccl = p["LIB"] < 0.5
    if not nccl and proto == "LL" and OPS.index(op) <= 2 and size > _vec(p, "T_LL_MAX", OPS.index(op)):
        return math.inf
    col = 0 if nodes == 1 else (1 if nodes == 2 else 2)
    ch = p["NCH_RING"]
    up = _scaleup(p, k)
    per_intra = up / ch
    per_inter = k * p["BNIC"] / ch if nodes > 1 else up / ch
    steps = {"all_reduce": 2.0 * (n - 1), "broadcast": float(n)}.get(op, n - 1.0)
    bw = per_intra if (nodes <= 2 or algo.startswith("collnet")) else per_inter
    if nccl and algo in ("nvls", "nvlstree"):
        intra_bw = per_intra * p["T_NVLS_EFF"] * (ch - 1) / ch * (2.0 if op == "all_reduce" else (k - 1) / k)
        inter_bw = per_inter * (2.0 if nodes <= 2 and algo == "nvlstree" else 1.0)
        bw = min(intra_bw, inter_bw)
        if algo == "nvlstree":
            bw = min(bw, _vec(p, "T_CH_NVLSTREE", col))
    bus = ch * bw
    c = _constants()
    if nccl:
        if algo == "ring" and proto == "LL":
            bus = min(_vec(p, "T_LLMAX", col), bus * c["nccl_tuner_ring_ll_factor"])
        elif algo == "ring" and proto == "LL128":
            bus = min(bus * c["nccl_tuner_ring_ll128_factor"], ch * _vec(p, "T_CH_RLL128", col))
        if algo == "tree":
            if op == "all_reduce":
                bus = min(bus * c["nccl_tuner_tree_allreduce_factor"], ch * _vec(p, "T_CH_TREE", col))
            if proto == "LL":
                bus = min(bus / c["nccl_tuner_tree_ll_divisor"], _vec(p, "T_LLMAX", col))
            elif proto == "LL128":
                f = c["nccl_tuner_tree_ll128_factor_" + ("one_node" if nodes == 1 else "multi_node")]
                bus = min(bus * f, ch * _vec(p, "T_CH_TLL128", col))
        if algo == "tree" and k == 1:      # search.cc: one GPU per node -> pattern TREE
            bus *= c["nccl_tuner_tree_pattern_factor"]
        if algo == "pat":
            bus *= c["nccl_tuner_pat_factor"]
        if algo == "collnet_direct":
            if op == "all_reduce":
                heads = min(c["nccl_collnet_direct_max_heads"], k, max(1, math.floor(k * p["NIC_PER_GPU"] + 1e-9)))
                ratio = k / heads                    # GPU/NIC ratio, halved towards 1
                bus /= ratio - (ratio - 1) / 2
                bus *= p["T_CND_AR"]                 # .85 from compute capability 9.0 (else 1)
            else:
                bus = k * min(per_intra, c["nccl_tuner_collnet_direct_inter_factor"] * per_inter)
    else:
        row = 0 if nodes <= 2 else 6
        bus *= _vec(p, "T_RATIO", row + 3 * ("ring", "tree").index("ring" if algo == "ring" else "tree")
                    + PROTOS.index(proto))
    if bus <= 0:
        return math.inf
    if algo == "ring" or algo in ("nvls", "nvlstree"):
        if not (algo != "ring" and op in ("all_gather", "reduce_scatter")):
            bus *= n / steps
    elif op not in ("all_gather", "reduce_scatter"):
        bus /= 2  # a tree all-reduce is a reduce and a broadcast
    lat = latency_s(p, op, algo, proto, n, k, tuner=True)
    buckets = int(size) // int(c["tuner_size_bucket_bytes"])
    log_size = _log2_floor(buckets) if buckets >= 1 else -1
    if log_size >= 0:
        width = p["CORR_BUCKETS"]
        corr_index = width * PROTOS.index(proto) + min(log_size, width - 1)
        nccl_tree_bucket = log_size < c["nccl_tree_correction_log_size_end"]
        if algo == "tree" and op == "all_reduce" and (not nccl or nccl_tree_bucket):
            bus *= _vec(p, "T_TREE_CORR", corr_index)
        if algo == "ring" and nodes > 1 and not nccl:
            bus *= _vec(p, "T_RING_CORR", corr_index)
        if nccl and algo == "nvlstree" and op == "all_reduce" and log_size < p["T_NVLSTREE_CORR_LOG_END"]:
            bus *= _vec(p, "T_TREE_CORR", corr_index)   # sm100+ on an x86 host (else the end is 0)
    if nccl and algo == "ring" and proto == "Simple" and nodes > 1 and op == "all_reduce" \
            and size / (ch * n) >= c["nccl_ring_simple_plateau_min_bytes"]:
        lat *= p["T_PLATEAU"]
    if bus <= 0:
        return math.inf
    return lat + size / bus


def choose(p, op, size, n, k) -> tuple[str, str]:
    """(algorithm, protocol) the library's tuner picks."""
    best = (math.inf, None, None)
    for algo in ALGOS:
        if algo == "pxn":
            continue
        for proto in PROTOS:
            t = tuner_s(p, op, algo, proto, size, n, k)
            if t < best[0]:
                best = (t, algo, proto)
    return best[1], best[2]


def collective_reference(p, op, algo, size, n, k) -> tuple[float, str | None, str | None]:
    """Reference of ``best_collective``: (time [s], algorithm, protocol); algo None = auto.
    Nothing is launched for one rank, nor for zero bytes except a send/recv's handshake."""
    if n <= 1 or (size <= 0 and op != "send_recv"):
        return 0.0, None, None
    if algo is None:
        a, pr = choose(p, op, size, n, k)
        if a is None:
            return math.inf, None, None
        return cost_s(p, op, a, pr, size, n, k), a, pr
    times = [(cost_s(p, op, algo, pr, size, n, k), pr) for pr in PROTOS]
    t, pr = min(times, key=lambda x: x[0])
    return t, algo, pr if math.isfinite(t) else None



def fastest_reference(p, op, size, n, k) -> tuple[float, str | None, str | None]:
    """Reference of ``fastest_collective``: the quickest (algorithm, protocol) pair the hardware
    runs, whatever the library's tuner would pick: the smallest :func:`cost_s` over every pair
    (time [s], algorithm, protocol). Nothing is launched for one rank, nor for zero bytes except
    a send/recv's handshake."""
    if n <= 1 or (size <= 0 and op != "send_recv"):
        return 0.0, None, None
    best = (math.inf, None, None)
    for algo in ALGOS:
        for proto in PROTOS:
            t = cost_s(p, op, algo, proto, size, n, k)
            if t < best[0]:
                best = (t, algo, proto)
    return best

# ---------------------------------------------------------------------------------------
# The serving engines' own TP all-reduce, from the rule as recorded (a row of
# data/serving/engine_allreduce.csv as a dict) rather than the kernel's rule vector
# ---------------------------------------------------------------------------------------
def engine_choice_reference(row: dict | None, size: float, n: int, k: int) -> str:
    """'one-shot', 'two-shot' or 'library' for an all-reduce of ``size`` bytes over n ranks,
    k per scale-up domain, under the engine row ``row`` (None: no engine kernel)."""
    if row is None or n < 2 or k != n:
        return "library"
    sizes = [int(w) for w in str(row["world_sizes"]).split(";")]
    if n not in sizes:
        return "library"
    limit = float(row["max_bytes_tp2"]) if n == 2 else float(row["max_bytes"])
    inside = size <= limit if row["max_inclusive"] else size < limit
    if not inside:
        return "library"
    if n == 2:
        return "one-shot"
    threshold = float(row["oneshot_below_bytes_tp4"] if n <= 4 else row["oneshot_below_bytes_tp8"])
    return "one-shot" if size < threshold else "two-shot"


def engine_kernel_reference(p, kind: str, size: float, n: int) -> float:
    """Seconds of the engine's one-shot or two-shot kernel: launch + barrier hops from the
    ring/LL latency table, bytes each GPU moves over the links it drives, local reduction."""
    if n < 2 or size <= 0:
        return 0.0
    links = _scaleup(p, n)
    launch = _latency_table(p, "BASE", "ring", "LL")
    hop = _latency_table(p, "HWI", "ring", "LL")
    if kind == "one-shot":
        moved, reduced, hops = (n - 1) * size, (n - 1) * size, 2
    else:
        share = size / n
        moved, reduced, hops = 2 * (n - 1) * share, (n - 1) * share, 4
    return launch + hops * hop + max(moved / links, reduced * p["GAMMA"])


def engine_allreduce_reference(p, row: dict | None, size: float, n: int, k: int) -> tuple[float, str]:
    """(time [s], what ran) of one TP all-reduce under an engine row: its kernel, else the
    library's auto choice (:func:`collective_reference`)."""
    if n <= 1 or size <= 0:
        return 0.0, "library"
    kind = engine_choice_reference(row, size, n, k)
    if kind == "library":
        return collective_reference(p, "all_reduce", None, size, n, k)[0], "library"
    return engine_kernel_reference(p, kind, size, n), kind


def lower_bound_reference(p, op, size, n, k) -> tuple[float, float, float]:
    """(latency, bandwidth, reduction) [s] of Chan et al. (2007)'s lower bound for ``op`` on
    ``n`` ranks in groups of ``k`` per scale-up domain, in this model's terms, stated per op as
    the data a rank must move and the data that must cross each domain's NICs:

    - latency: one launch (the smallest base latency of any table algorithm and protocol), one
      scale-up hop when k > 1 (the smallest), and ⌈log2 N⌉ network hops (the smallest, plus
      the extra switch latency) to reach N = n/k domains, a binomial tree's depth;
    - bandwidth: the larger of what every rank must send or receive through all its links
      (scale-up towards the k − 1 others, plus its NIC when N > 1) and what must cross its
      domain's k NICs when N > 1 (all-to-all: each rank's own off-domain share through its
      own NIC);
    - reduction: every rank reduces (n − 1)/n of the data (all-reduce, reduce-scatter).

    Zero bytes launch nothing (send/recv aside), and one rank communicates nothing."""
    N = n // k
    if n <= 1 or (size <= 0.0 and op != "send_recv"):
        return 0.0, 0.0, 0.0
    table = range(3 * len(TABLE))
    launch = min(p[f"BASE+{j}"] for j in table)
    up_hop = min(p[f"HWI+{j}"] for j in table) if k > 1 else 0.0
    net_hop = min(p[f"HWN+{j}"] for j in table) + p["LATINTER"]
    latency = launch + up_hop + _log2_ceil(N) * net_hop
    nic = p["BNIC"] * p["FABEFF"]
    links = _scaleup(p, k) if k > 1 else 0.0
    injection = links + (nic if N > 1 else 0.0)
    share = (n - 1) / n
    # bytes a rank moves through its own links; bytes crossing a domain's NICs, per domain NIC
    per_rank = {"all_reduce": 2 * share * size, "reduce_scatter": share * size, "all_gather": share * size,
                "all_to_all": share * size, "broadcast": size, "send_recv": size}[op]
    bandwidth = per_rank / injection
    if N > 1:
        if op == "all_to_all":
            crossing = (n - k) / n * size / nic
        else:
            across = {"all_reduce": 2 * (N - 1) / N * size, "reduce_scatter": (N - 1) / N * size,
                      "all_gather": (N - 1) / N * size, "broadcast": size, "send_recv": size}[op]
            crossing = across / (k * nic)
        bandwidth = max(bandwidth, crossing)
    reduction = share * size * p["GAMMA"] if op in ("all_reduce", "reduce_scatter") else 0.0
    return latency, bandwidth, reduction
