"""Plain-Python reference of flow routing (:func:`infra_lab._kernels.fabric.route_flows`),
written from the fabric's named description rather than from the kernel's topology vector.

:func:`route_flows_reference` reads a :class:`infra_lab.fabric.Fabric` by its named fields
(domains, GPUs and NICs per domain, rail networks and hosts per domain, host ports, leaves per
rail, uplinks per leaf and of a part-filled last leaf, PXN) and its link names
(:meth:`~infra_lab.fabric.Fabric.link_name`, e.g. ``"leaf_up[leaf 3, plane 1]"``), and:

1. lays the NICs under the leaves by filling each network's leaves in turn (a rail network
   per rail on rails-only and rail-optimized fabrics, NIC j of a domain on rail j % P as that
   domain's host j // P; one network of every NIC port, domain by domain, on a fat-tree), and
   gives each leaf its uplink planes: all of them, or the part-filled last leaf's fewer;
2. builds the scale-out network as an explicit directed graph (NICs, leaves, spine planes —
   one spine per plane per rail on rails-only, shared by every leaf otherwise) whose edges are
   the fabric's named links, and enumerates every shortest path from the NIC a flow leaves by
   to the destination GPU's NIC (breadth first, then all predecessor chains), ordered by the
   spine plane they cross;
3. puts a flow between two GPUs of one scale-up domain on the scale-up links only, and a flow
   from a NIC's rail to another rail with PXN on through the scale-up fabric to the lowest GPU
   of the source's own host (compute tray) whose NIC is on the destination's rail, which
   stages the data in its HBM (written and read: weight 2) and sends it from that NIC;
4. applies each mode's rule to the equal-cost paths: ECMP — each of ``qps`` queue pairs takes
   path ``hash % (number of paths)`` with 1/qps of the flow; spray — 1/(number of paths) on
   each path, summed per link (``spray``: the leaf-spine links then added into each leaf's
   trunk of the planes every leaf cables and its trunk of the rest); adaptive — flows in
   ``order`` each take the path whose busiest leaf uplink / spine downlink carries the fewest
   bytes placed so far, ties to the first in the cyclic order that starts at the path the
   flow's hash picks.

The flow hash (:func:`flow_hash`) is written here again from its contract (SplitMix64,
Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014,
https://doi.org/10.1145/2660193.2660195, in Vigna's public-domain C,
https://prng.di.unimi.it/splitmix64.c) with Python integers; only the contract is shared.
The tests compare this reference with the kernel per flow and per link.
"""

from __future__ import annotations

from collections import deque

import numpy as np

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
MODES = ("ecmp", "spray", "spray_explicit", "adaptive")


def _finalise(z: int) -> int:
    """SplitMix64's output function (Vigna's ``next()`` after the state increment)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def splitmix64(state: int) -> int:
    """First output of SplitMix64 seeded with ``state`` (uint64)."""
    return _finalise((state + _GOLDEN) & _M64)


def flow_hash(src: int, dst: int, qp: int, seed: int, n_gpus: int) -> int:
    """The ECMP / adaptive flow hash contract (uint64).

    key = (src · n_gpus + dst) · 64 + (qp mod 64), with qp div 64 in bits 56 and up, so that
    every (src, dst, queue pair) has its own key while n_gpus < 2^25 and qp < 2^14 (NCCL allows
    128 queue pairs); hash = finalise(key xor splitmix64(seed)), ``finalise`` SplitMix64's
    output function. A path is chosen as hash mod (number of equal-cost paths)."""
    key = ((src * n_gpus + dst) * 64 + qp % 64) | ((qp // 64) << 56)
    return _finalise((key & _M64) ^ splitmix64(seed))


class _Network:
    """The fabric as named nodes and links (scale-up links by endpoint, scale-out as a graph)."""

    def __init__(self, fab):
        self.fab = fab
        self.kind = fab.hardware.fabric
        self.N, self.G, self.R = fab.domains, fab.domain_gpus, fab.rails
        self.P = fab.rail_networks or fab.rails
        self.Q = fab.hosts_per_domain
        self.mesh = any(name == "xgmi" for name, _ in fab.group_bounds)
        self.link = {fab.link_name(i): i for i in range(fab.n_links)}
        self.gpu_nic = [i * self.R // self.G for i in range(self.G)]
        self._lay_out_leaves()
        self._build_graph()
        self._paths: dict = {}

    # -- layout ----------------------------------------------------------------------
    def rail(self, nic: int) -> int:
        """The rail network of NIC ``nic`` of a domain (the NIC index itself on a fat-tree)."""
        return nic if self.kind == "fat-tree" else nic % self.P

    def _lay_out_leaves(self):
        fab = self.fab
        self.leaf = {}              # (domain, nic) -> leaf
        hosts: dict[int, int] = {}  # leaf -> ports used
        self.net = {}               # leaf -> its spine network
        if self.kind == "fat-tree":
            port = 0
            for m in range(self.N):
                for r in range(self.R):
                    self.leaf[(m, r)] = port // fab.ports_per_leaf
                    port += 1
        else:
            for p in range(self.P):
                along = 0                      # hosts placed along rail p so far
                for m in range(self.N):
                    for t in range(self.Q):    # NIC t·P + p is host t of domain m on rail p
                        self.leaf[(m, t * self.P + p)] = p * fab.leaves_per_rail + along // fab.ports_per_leaf
                        along += 1
        for lf in self.leaf.values():
            hosts[lf] = hosts.get(lf, 0) + 1
        if sorted(hosts) != list(range(fab.n_leaves)):
            raise ValueError(f"layout: leaves {sorted(hosts)} hold NICs, the fabric has {fab.n_leaves}")
        for (_, r), lf in self.leaf.items():
            self.net[lf] = r % self.P if self.kind == "rails-only" else 0
        # a leaf that holds fewer hosts than a full one is its network's part-filled last leaf
        self.planes = {lf: (fab.uplinks_last_leaf if n < fab.ports_per_leaf else fab.uplinks_per_leaf)
                       for lf, n in hosts.items()}

    def _build_graph(self):
        self.out: dict = {}          # node -> [(next node, link id)]

        def edge(a, b, name):
            self.out.setdefault(a, []).append((b, self.link[name]))

        for (m, r), lf in self.leaf.items():
            edge(("nic", m, r), ("leaf", lf), f"nic_up[node {m}, rail {r}]")
            edge(("leaf", lf), ("nic", m, r), f"nic_down[node {m}, rail {r}]")
        for lf, k in self.planes.items():
            for j in range(k):
                spine = ("spine", self.net[lf], j)
                edge(("leaf", lf), spine, f"leaf_up[leaf {lf}, plane {j}]")
                edge(spine, ("leaf", lf), f"spine_down[leaf {lf}, plane {j}]")
        # leaf-spine links: their spray trunk (the planes every leaf cables, or the rest)
        self.trunk = {}
        last = self.fab.uplinks_last_leaf
        for lf in self.planes:
            for j in range(self.planes[lf]):
                rest = "_rest" if j >= last else ""
                self.trunk[self.link[f"leaf_up[leaf {lf}, plane {j}]"]] = self.link[f"trunk_up{rest}[leaf {lf}]"]
                self.trunk[self.link[f"spine_down[leaf {lf}, plane {j}]"]] = self.link[f"trunk_down{rest}[leaf {lf}]"]

    # -- paths -----------------------------------------------------------------------
    def shortest_paths(self, a, b) -> list[tuple[list[int], int]]:
        """Every shortest path from node a to node b as (link ids, spine plane or -1), by plane."""
        key = (a, b)
        if key in self._paths:
            return self._paths[key]
        dist, preds = {a: 0}, {a: []}
        queue = deque([a])
        while queue:
            u = queue.popleft()
            if b in dist and dist[u] >= dist[b]:
                break
            for v, lk in self.out.get(u, ()):
                if v not in dist:
                    dist[v] = dist[u] + 1
                    preds[v] = [(u, lk)]
                    queue.append(v)
                elif dist[v] == dist[u] + 1:
                    preds[v].append((u, lk))
        if b not in dist:
            self._paths[key] = []
            return []
        found = []

        def walk(v, tail, plane):
            if v == a:
                found.append((tail, plane))
                return
            for u, lk in preds[v]:
                walk(u, [lk, *tail], v[2] if v[0] == "spine" else plane)

        walk(b, [], -1)
        found.sort(key=lambda p: p[1])
        self._paths[key] = found
        return found

    def scaleup_hop(self, m: int, a: int, b: int) -> list[int]:
        """Links from GPU a to GPU b of domain m over the scale-up fabric."""
        if self.mesh:
            return [self.link[f"xgmi[node {m}, gpu {a}->{b}]"]]
        return [self.link[f"nvswitch_egress[node {m}, gpu {a}]"], self.link[f"nvswitch_ingress[node {m}, gpu {b}]"]]


def route_flows_reference(fab, src, dst, nbytes, mode: str, qps: int = 1, seed: int = 0, order=None):
    """Route flows over ``fab`` (an :class:`infra_lab.fabric.Fabric`) by ``mode`` (one of
    :data:`MODES`); ``order`` is the order adaptive routing places flows in (default: as
    given). Returns {flow: {link id: weight}} — the fraction of the flow's bytes each link
    carries (the PXN staging link 2: written, then read)."""
    if mode not in MODES:
        raise ValueError(f"mode = {mode!r}: allowed {MODES}")
    net = _Network(fab)
    G, n = net.G, fab.n_gpus
    F = len(src)
    order = range(F) if order is None else [int(x) for x in order]
    placed: dict[int, float] = {}     # adaptive: bytes on each leaf uplink / spine downlink
    out: dict[int, dict[int, float]] = {}

    def add(d, links, wt):
        for lk in links:
            d[lk] = d.get(lk, 0.0) + wt

    for f in order:
        s, t = int(src[f]), int(dst[f])
        ms, gs, md, gd = s // G, s % G, t // G, t % G
        w: dict[int, float] = {}
        out[f] = w
        if ms == md:
            add(w, net.scaleup_hop(ms, gs, gd), 1.0)
            continue
        nic, nic_d = net.gpu_nic[gs], net.gpu_nic[gd]
        if fab.pxn and net.rail(nic) != net.rail(nic_d):
            host = nic // net.P if net.kind != "fat-tree" else 0
            nic = host * net.P + net.rail(nic_d) if net.kind != "fat-tree" else nic_d
            relay = next((i for i in range(G) if net.gpu_nic[i] == nic), None)
            if relay is None:
                raise ValueError(f"flow {f}: no GPU of domain {ms} uses NIC {nic} to relay through")
            if relay != gs:
                add(w, net.scaleup_hop(ms, gs, relay), 1.0)
                add(w, [net.link[f"pxn_hbm[node {ms}, gpu {relay}]"]], 2.0)
        paths = net.shortest_paths(("nic", ms, nic), ("nic", md, nic_d))
        if not paths:
            raise ValueError(f"flow {f}: GPU {s} -> GPU {t}: no path from NIC {nic} of domain {ms} to "
                             f"NIC {nic_d} of domain {md}")
        C = len(paths)
        if mode == "ecmp":
            for q in range(qps):
                add(w, paths[flow_hash(s, t, q, seed, n) % C][0], 1.0 / qps)
        elif mode in ("spray", "spray_explicit"):
            for links, _ in paths:
                for lk in links:
                    tgt = net.trunk.get(lk, lk) if mode == "spray" else lk
                    w[tgt] = w.get(tgt, 0.0) + 1.0 / C
        else:
            first = flow_hash(s, t, 0, seed, n) % C
            best, best_load = None, None
            for k in range(C):
                links = paths[(first + k) % C][0]
                load = max((placed.get(lk, 0.0) for lk in links if lk in net.trunk), default=0.0)
                if best is None or load < best_load:
                    best, best_load = links, load
            for lk in best:
                if lk in net.trunk:
                    placed[lk] = placed.get(lk, 0.0) + float(nbytes[f])
            add(w, best, 1.0)
    return out


def link_loads_of(routes: dict, nbytes, n_links: int) -> np.ndarray:
    """Bytes on each link [B] of routes as :func:`route_flows_reference` returns them."""
    load = np.zeros(n_links)
    for f, w in routes.items():
        for lk, wt in w.items():
            load[lk] += wt * float(nbytes[f])
    return load
