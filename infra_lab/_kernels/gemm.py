"""GEMM tile/wave kernels (numba) and their plain-Python references.

Every function takes only numpy arrays and scalars; every hardware number (compute units,
macro-tiles, ceiling, peak, bandwidth, fixed cost) comes in as an argument. The public
wrappers are :func:`infra_lab.compute.gemm_times` and :func:`infra_lab.compute.grouped_gemm_times`.

Model of one GEMM problem C[m×n] = A[m×k]·B[k×n], repeated ``batch`` times, for each
candidate macro-tile (tm, tn) with intrinsic efficiency te, and each decomposition:

* data-parallel with split-K factor s (s = 1: one workgroup per output tile)::

      util   = m·n / (ceil(m/tm)·tm · ceil(n/tn)·tn)          tile quantization (M, N)
      kutil  = k / (ceil(ceil(k/s)/tk)·tk·s)                  tile quantization (K)
      tiles  = ceil(m/tm)·ceil(n/tn)·batch·s
      wave   = tiles / (ceil(tiles/CUs)·CUs)                  wave quantization
      kt     = ceil(ceil(k/s)/tk)                             K-loop iterations per tile
      e      = util·kutil·wave·te·kt/(kt + c_t)·(split_eff if s > 1 else 1)

  ``c_t`` is a fixed cost per output tile in K-loop iterations (pipeline fill and the
  epilogue writing the tile): short K (512) runs far below peak even with full waves.

* stream-K (where the library ships it): the K-loop iterations of all tiles are dealt out
  evenly over the CUs, so the wave term becomes
  ``iters / (ceil(iters/CUs)·CUs)`` with ``iters = tiles·ceil(k/tk)``, at a fix-up cost
  ``sk_eff`` (partial tiles reduced through a workspace)::

      e_sk   = util·kutil(s=1)·te·sk_eff · iters / (ceil((iters + c_t·tiles)/CUs)·CUs)

    t_compute  = 2·m·n·k·batch / (peak · ceiling · e)
    t_memory   = batch·((m·k + k·n)·in_bytes + m·n·out_bytes) / mem_bw
    t_load     = waves · (tm + tn)·kt·tk·in_bytes / unit_load_Bps           (data-parallel)
               = ceil(iters/CUs) · (tm + tn)·tk·in_bytes / unit_load_Bps   (stream-K)
    time       = min over tiles and decompositions of max(t_compute, t_memory, t_load)
                 + fixed_s                               (one kernel)
    efficiency = 2·m·n·k·batch / (time · peak)             achieved fraction of peak

*Per-unit load rate* (APPROXIMATE): a workgroup runs on one compute unit and loads its
output tile's operand panels, (tm + tn) rows of its K range, at most at ``unit_load_Bps``
[bytes/s] (its loads in flight over the memory latency), so a GEMM whose few tiles occupy
few compute units cannot reach the device's HBM bandwidth (decode-size M: N/tn tiles of a
weight matrix). The busiest unit runs ``waves`` tiles (stream-K: ``ceil(iters/CUs)``
K-iterations). ``unit_load_Bps`` = 0: no such limit, and the time is
``max(t_compute(best e), t_memory)``. The rate is taken as one number per kernel family
(not per tile size), L2 hits load at the same rate as HBM reads, and the output tile's
write is not counted.

A *grouped* GEMM (one kernel over G groups of shapes (m_g, n_g, k_g) that share one tile
choice, e.g. the experts of an MoE layer) pads every group to the tile separately and
quantizes the *sum* of the groups' tiles into waves::

      util·kutil → Σ m_g·n_g·k_g / Σ padded(m_g)·padded(n_g)·padded(k_g)
      tiles      → Σ ceil(m_g/tm)·ceil(n_g/tn)·s

Groups with no rows (an expert that received no token) contribute nothing.

*Streams* (``streams`` = S >= 1): libraries that run a grouped GEMM as a loop of ordinary
GEMMs, one per group, issued round-robin over S CUDA/HIP streams (Transformer Engine's
GroupedLinear on its default cuBLAS / hipBLASLt path; the ``grouped_gemm`` package's cuBLAS
path), let at most S of them run at once. Approximation: the non-empty groups are taken in
consecutive chunks of S, each chunk priced as one grouped kernel (its own tile choice, its
tiles sharing waves, one ``fixed_s``), and the chunks' times add. It ignores the overlap of
one chunk's tail with the next chunk's head (a stream starts its next GEMM as soon as its
own previous one ends) and the host time of issuing S launches per chunk, so it is a lower
bound of the looped time when chunks are unequal. ``streams`` = 0: one fused grouped kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


# --------------------------------------------------------------------------------------
# Plain GEMMs
# --------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def _candidate_time(flop, peak, ceiling, e, t_m, loads, unit_bw):
    """Time [s] of one tile/decomposition candidate: the slowest of compute at fraction ``e``
    of peak, the HBM traffic ``t_m`` and, where ``unit_bw`` > 0, the busiest compute unit's
    operand ``loads`` [bytes] at ``unit_bw`` [bytes/s] (module docstring)."""
    t = flop / (peak * ceiling * e)
    if t_m > t:
        t = t_m
    if unit_bw > 0.0:
        tl = loads / unit_bw
        if tl > t:
            t = tl
    return t


@njit(cache=True, no_cfunc_wrapper=True)
def _best_time(m, n, k, b, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, tile_c, cus,
               stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, unit_bw):
    """Shortest max(compute, memory, per-unit load) time [s] over the macro-tiles and
    decompositions (module docstring; ``unit_bw`` = 0: no per-unit load limit)."""
    w = 2.0 * m * n * k * b
    t_m = b * ((m * k + k * n) * in_bytes + m * n * out_bytes) / mem_bw_Bps
    best = np.inf
    best_e = 0.0
    for j in range(tile_m.size):
        tm = tile_m[j]
        tn = tile_n[j]
        gm = (m + tm - 1) // tm
        gn = (n + tn - 1) // tn
        util = (m * n) / (gm * tm * gn * tn)
        for si in range(splits.size):
            s = splits[si]
            ks = (k + s - 1) // s
            kt = (ks + k_tile - 1) // k_tile
            kutil = k / (kt * k_tile * s)
            tiles = gm * gn * b * s
            waves = (tiles + cus - 1) // cus
            e = util * kutil * (tiles / (waves * cus)) * tile_eff[j] * kt / (kt + tile_c)
            if s > 1:
                e *= split_eff
            if unit_bw <= 0.0:          # no per-unit limit: the best fraction of peak wins
                if e > best_e:
                    best_e = e
                continue
            t = _candidate_time(w, peak, ceiling, e, t_m, waves * (tm + tn) * kt * k_tile * in_bytes, unit_bw)
            if t < best:
                best = t
        if stream_k:
            kt1 = (k + k_tile - 1) // k_tile
            iters = gm * gn * b * kt1
            units = iters + tile_c * gm * gn * b
            wv = math.ceil(units / cus)
            e = util * (k / (kt1 * k_tile)) * (iters / (wv * cus)) * tile_eff[j] * sk_eff
            if unit_bw <= 0.0:
                if e > best_e:
                    best_e = e
                continue
            t = _candidate_time(w, peak, ceiling, e, t_m, ((iters + cus - 1) // cus) * (tm + tn) * k_tile * in_bytes,
                                unit_bw)
            if t < best:
                best = t
    if unit_bw <= 0.0:
        t = w / (peak * ceiling * best_e)
        return t if t > t_m else t_m
    return best


@njit(cache=True, no_cfunc_wrapper=True)
def gemm_kernel(ms, ns, ks, bs, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, tile_c,
                cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, fixed_s,
                unit_bw, eff_out, time_out):
    """Fill ``eff_out`` (achieved fraction of peak) [-] and ``time_out`` [s] for every
    problem (int64 arrays ms, ns, ks, bs)."""
    for i in range(ms.size):
        m = ms[i]
        n = ns[i]
        k = ks[i]
        b = bs[i]
        t = _best_time(m, n, k, b, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, tile_c,
                       cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes, out_bytes,
                       unit_bw) + fixed_s
        time_out[i] = t
        eff_out[i] = 2.0 * m * n * k * b / (t * peak)


def gemm_reference(ms, ns, ks, bs, tile_m, tile_n, tile_eff, splits, split_eff, k_tile,
                   tile_c, cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, fixed_s,
                   unit_bw, eff_out, time_out):
    """Plain-Python reference of :func:`gemm_kernel` (same arguments, same outputs), written
    from the formulas in the module docstring: it lists every candidate decomposition with its
    busiest compute unit's operand loads, times each and keeps the fastest."""
    tiles_list = list(zip(tile_m.tolist(), tile_n.tolist(), tile_eff.tolist(), strict=True))
    k_tile = int(k_tile)
    for i in range(len(ms)):
        m, n, k, b = int(ms[i]), int(ns[i]), int(ks[i]), int(bs[i])
        candidates = []     # (fraction of peak, operand bytes the busiest compute unit loads)
        for tm, tn, te in tiles_list:
            util = (m * n) / (math.ceil(m / tm) * tm * math.ceil(n / tn) * tn)
            for s in splits.tolist():
                kt = math.ceil(math.ceil(k / s) / k_tile)
                kutil = k / (kt * k_tile * s)
                tiles = math.ceil(m / tm) * math.ceil(n / tn) * b * s
                wave = tiles / (math.ceil(tiles / cus) * cus)
                per_tile = kt / (kt + tile_c)
                loads = math.ceil(tiles / cus) * (tm + tn) * kt * k_tile * in_bytes
                candidates.append((util * kutil * wave * te * per_tile * (split_eff if s > 1 else 1.0), loads))
            if stream_k:
                kt = math.ceil(k / k_tile)
                tiles = math.ceil(m / tm) * math.ceil(n / tn) * b
                busy = math.ceil((tiles * kt + tile_c * tiles) / cus) * cus
                loads = math.ceil(tiles * kt / cus) * (tm + tn) * k_tile * in_bytes
                candidates.append((util * (k / (kt * k_tile)) * (tiles * kt / busy) * te * sk_eff, loads))
        flop = 2.0 * m * n * k * b
        t_memory = b * ((m * k + k * n) * in_bytes + m * n * out_bytes) / mem_bw_Bps
        t = min(max(flop / (peak * ceiling * q), t_memory, loads / unit_bw if unit_bw > 0 else 0.0)
                for q, loads in candidates) + fixed_s
        time_out[i] = t
        eff_out[i] = flop / (t * peak)


# --------------------------------------------------------------------------------------
# Grouped GEMMs (one kernel over several groups, e.g. the local experts of an MoE layer)
# --------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def _chunk_tiles(idx, gms, gns, gks, tm, tn, s, k_tile):
    """(padded multiply-adds, output tiles, tile k-iterations) of the groups ``idx`` on a
    tm × tn macro-tile with the k dimension split ``s`` ways (s = 1: no split)."""
    padded = 0.0
    tiles = 0
    its = 0.0
    for ii in range(idx.size):
        g = idx[ii]
        gm = (gms[g] + tm - 1) // tm
        gn = (gns[g] + tn - 1) // tn
        kt = ((gks[g] + s - 1) // s + k_tile - 1) // k_tile
        padded += 1.0 * gm * tm * gn * tn * kt * k_tile * s
        tiles += gm * gn * s
        its += 1.0 * gm * gn * s * kt
    return padded, tiles, its


@njit(cache=True, no_cfunc_wrapper=True)
def _grouped_chunk(idx, gms, gns, gks, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, tile_c,
                   cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, fixed_s, unit_bw):
    """(time [s], FLOP) of one grouped kernel over the (non-empty) groups ``idx``: the fastest
    tile and decomposition, each timed as the slowest of compute, HBM traffic and the busiest
    compute unit's operand loads (a data-parallel tile's loads at the groups' mean K range)."""
    useful = 0.0
    byts = 0.0
    for ii in range(idx.size):
        g = idx[ii]
        m = gms[g]
        useful += 1.0 * m * gns[g] * gks[g]
        byts += (m * gks[g] + gks[g] * gns[g]) * in_bytes + m * gns[g] * out_bytes
    flop = 2.0 * useful
    t_m = byts / mem_bw_Bps
    best = np.inf
    for j in range(tile_m.size):
        tm = tile_m[j]
        tn = tile_n[j]
        for si in range(splits.size):
            s = splits[si]
            padded, tiles, its = _chunk_tiles(idx, gms, gns, gks, tm, tn, s, k_tile)
            waves = (tiles + cus - 1) // cus
            e = useful / padded * (tiles / (waves * cus)) * tile_eff[j] * its / (its + tile_c * tiles)
            if s > 1:
                e *= split_eff
            # the busiest unit's tiles at the mean K range per tile (its / tiles K-iterations)
            t = _candidate_time(flop, peak, ceiling, e, t_m, waves * (tm + tn) * (its / tiles) * k_tile * in_bytes,
                                unit_bw)
            if t < best:
                best = t
        if stream_k:
            padded, tl_, iters = _chunk_tiles(idx, gms, gns, gks, tm, tn, np.int64(1), k_tile)
            w = math.ceil((iters + tile_c * tl_) / cus)
            e = useful / padded * (iters / (w * cus)) * tile_eff[j] * sk_eff
            t = _candidate_time(flop, peak, ceiling, e, t_m, math.ceil(iters / cus) * (tm + tn) * k_tile * in_bytes,
                                unit_bw)
            if t < best:
                best = t
    return best + fixed_s, flop


@njit(cache=True, no_cfunc_wrapper=True)
def grouped_gemm_kernel(offsets, gms, gns, gks, streams, tile_m, tile_n, tile_eff, splits, split_eff,
                        k_tile, tile_c, cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps, in_bytes,
                        out_bytes, fixed_s, unit_bw, eff_out, time_out):
    """Problem p has groups ``offsets[p] : offsets[p+1]`` of (gms, gns, gks) (int64; gms may
    be 0). ``streams`` = 0: one grouped kernel per problem; S >= 1: the non-empty groups run
    as separate GEMMs on S streams, in consecutive chunks of S (module docstring). Fills
    ``eff_out`` [-] and ``time_out`` [s] per problem."""
    for p in range(offsets.size - 1):
        lo = offsets[p]
        hi = offsets[p + 1]
        nz = 0
        for g in range(lo, hi):
            if gms[g] > 0:
                nz += 1
        if nz == 0:
            time_out[p] = fixed_s
            eff_out[p] = 0.0
            continue
        idx = np.empty(nz, dtype=np.int64)
        c = 0
        for g in range(lo, hi):
            if gms[g] > 0:
                idx[c] = g
                c += 1
        chunk = nz if streams <= 0 else streams
        t = 0.0
        flop = 0.0
        for a in range(0, nz, chunk):
            b = a + chunk if a + chunk < nz else nz
            ti, fi = _grouped_chunk(idx[a:b], gms, gns, gks, tile_m, tile_n, tile_eff, splits, split_eff,
                                    k_tile, tile_c, cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps,
                                    in_bytes, out_bytes, fixed_s, unit_bw)
            t += ti
            flop += fi
        time_out[p] = t
        eff_out[p] = flop / (t * peak)


def grouped_gemm_reference(offsets, gms, gns, gks, streams, tile_m, tile_n, tile_eff, splits,
                           split_eff, k_tile, tile_c, cus, stream_k, sk_eff, ceiling, peak, mem_bw_Bps,
                           in_bytes, out_bytes, fixed_s, unit_bw, eff_out, time_out):
    """Plain-Python reference of :func:`grouped_gemm_kernel`: builds each group's padded
    shape explicitly and sums work and tiles over the non-empty groups of each launch (all
    of them for ``streams`` = 0, else S at a time)."""
    k_tile = int(k_tile)
    offs = [int(o) for o in offsets]

    def pad(x, t):
        return math.ceil(x / t) * t

    def one_kernel(groups):
        flop = sum(2.0 * m * n * k for m, n, k in groups)
        byts = sum((m * k + k * n) * in_bytes + m * n * out_bytes for m, n, k in groups)
        candidates = []
        for tm, tn, te in zip(tile_m.tolist(), tile_n.tolist(), tile_eff.tolist(), strict=True):
            for s in splits.tolist():
                padded = sum(pad(m, tm) * pad(n, tn) * pad(math.ceil(k / s), k_tile) * s
                             for m, n, k in groups)
                tiles = sum(math.ceil(m / tm) * math.ceil(n / tn) * s for m, n, _ in groups)
                iters = sum(math.ceil(m / tm) * math.ceil(n / tn) * s * math.ceil(math.ceil(k / s) / k_tile)
                            for m, n, k in groups)
                wave = tiles / (math.ceil(tiles / cus) * cus)
                # busiest unit: ceil(tiles / CUs) tiles, each loading (tm + tn) rows of the mean K range
                loads = math.ceil(tiles / cus) * (tm + tn) * (iters * k_tile / tiles) * in_bytes
                candidates.append((flop / 2.0 / padded * wave * te * iters / (iters + tile_c * tiles)
                                   * (split_eff if s > 1 else 1.0), loads))
            if stream_k:
                padded = sum(pad(m, tm) * pad(n, tn) * pad(k, k_tile) for m, n, k in groups)
                iters = sum(math.ceil(m / tm) * math.ceil(n / tn) * math.ceil(k / k_tile)
                            for m, n, k in groups)
                tiles = sum(math.ceil(m / tm) * math.ceil(n / tn) for m, n, _ in groups)
                busy = math.ceil((iters + tile_c * tiles) / cus) * cus
                loads = math.ceil(iters / cus) * (tm + tn) * k_tile * in_bytes
                candidates.append((flop / 2.0 / padded * (iters / busy) * te * sk_eff, loads))
        return min(max(flop / (peak * ceiling * q), byts / mem_bw_Bps, loads / unit_bw if unit_bw > 0 else 0.0)
                   for q, loads in candidates) + fixed_s, flop

    for p in range(len(offs) - 1):
        groups = [(int(gms[g]), int(gns[g]), int(gks[g])) for g in range(offs[p], offs[p + 1])]
        groups = [gr for gr in groups if gr[0] > 0]
        if not groups:
            time_out[p], eff_out[p] = fixed_s, 0.0
            continue
        size = len(groups) if int(streams) <= 0 else int(streams)
        launches = [one_kernel(groups[i:i + size]) for i in range(0, len(groups), size)]
        t = sum(x[0] for x in launches)
        time_out[p] = t
        eff_out[p] = sum(x[1] for x in launches) / (t * peak)


def empty_outputs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 output arrays (efficiency, time) of length ``size``."""
    return np.empty(size, dtype=np.float64), np.empty(size, dtype=np.float64)


# --------------------------------------------------------------------------------------
# PyTorch's fused CUTLASS grouped kernel (torch._grouped_mm / torch._scaled_grouped_mm)
# --------------------------------------------------------------------------------------
@njit(cache=True, no_cfunc_wrapper=True)
def fused_grouped_kernel(offsets, gms, gns, gks, ptm, ptn, pte, pcm, pcn, k_tile, tile_c, cus,
                         ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, fixed_s, eff_out, time_out):
    """One CUTLASS ptr-array grouped kernel per problem, its macro-tile fixed by the caller
    (``ptm[p]`` × ``ptn[p]``, intrinsic efficiency ``pte[p]``, cluster ``pcm[p]`` × ``pcn[p]``).

    CUTLASS's grouped tile scheduler on sm90/sm100 (PersistentTileSchedulerSm90Group) is a
    static persistent data-parallel schedule: each group's tile grid is rounded up to whole
    clusters, the tiles of all groups are numbered one after another and the resident CTAs
    take them in strides of the grid, so the wave term quantizes the *sum* of the groups'
    (cluster-rounded) tiles over the SMs; there is no split-K and no stream-K::

        tiles  = Σ round_up(ceil(m_g/tm), cm) · round_up(ceil(n_g/tn), cn)
        e      = Σ m·n·k / Σ padded · tiles/(ceil(tiles/CUs)·CUs) · te · its/(its + c_t·tiles)
        time   = max(2·Σ m·n·k / (peak · ceiling · e), bytes / mem_bw) + fixed_s

    Groups with no rows (m, n or k = 0) are skipped. Fills ``eff_out`` [-] and ``time_out`` [s]."""
    for p in range(offsets.size - 1):
        useful = 0.0
        byts = 0.0
        padded = 0.0
        tiles = 0
        its = 0.0
        tm = ptm[p]
        tn = ptn[p]
        for g in range(offsets[p], offsets[p + 1]):
            m = gms[g]
            n = gns[g]
            k = gks[g]
            if m <= 0 or n <= 0 or k <= 0:
                continue
            useful += 1.0 * m * n * k
            byts += (m * k + k * n) * in_bytes + m * n * out_bytes
            bm = (m + tm - 1) // tm
            bm = (bm + pcm[p] - 1) // pcm[p] * pcm[p]
            bn = (n + tn - 1) // tn
            bn = (bn + pcn[p] - 1) // pcn[p] * pcn[p]
            kt = (k + k_tile - 1) // k_tile
            padded += 1.0 * bm * tm * bn * tn * kt * k_tile
            tiles += bm * bn
            its += 1.0 * bm * bn * kt
        if tiles == 0:
            time_out[p] = fixed_s
            eff_out[p] = 0.0
            continue
        waves = (tiles + cus - 1) // cus
        e = useful / padded * (tiles / (waves * cus)) * pte[p] * its / (its + tile_c * tiles)
        flop = 2.0 * useful
        t_c = flop / (peak * ceiling * e)
        t_m = byts / mem_bw_Bps
        t = (t_c if t_c > t_m else t_m) + fixed_s
        time_out[p] = t
        eff_out[p] = flop / (t * peak)


def fused_grouped_reference(offsets, gms, gns, gks, ptm, ptn, pte, pcm, pcn, k_tile, tile_c, cus,
                            ceiling, peak, mem_bw_Bps, in_bytes, out_bytes, fixed_s, eff_out, time_out):
    """Plain-Python reference of :func:`fused_grouped_kernel` (same arguments and outputs): builds
    each group's cluster-rounded tile grid explicitly and deals the tiles out in waves."""
    k_tile = int(k_tile)
    for p in range(len(offsets) - 1):
        tm, tn, cm, cn = int(ptm[p]), int(ptn[p]), int(pcm[p]), int(pcn[p])
        groups = [(int(gms[g]), int(gns[g]), int(gks[g])) for g in range(int(offsets[p]), int(offsets[p + 1]))]
        groups = [x for x in groups if min(x) > 0]
        if not groups:
            time_out[p], eff_out[p] = fixed_s, 0.0
            continue
        grid = [(math.ceil(math.ceil(m / tm) / cm) * cm, math.ceil(math.ceil(n / tn) / cn) * cn, math.ceil(k / k_tile))
                for m, n, k in groups]
        tiles = sum(bm * bn for bm, bn, _ in grid)
        iters = sum(bm * bn * kt for bm, bn, kt in grid)
        padded = sum(bm * tm * bn * tn * kt * k_tile for bm, bn, kt in grid)
        flop = sum(2.0 * m * n * k for m, n, k in groups)
        byts = sum((m * k + k * n) * in_bytes + m * n * out_bytes for m, n, k in groups)
        wave = tiles / (math.ceil(tiles / cus) * cus)
        e = flop / 2.0 / padded * wave * float(pte[p]) * iters / (iters + tile_c * tiles)
        t = max(flop / (peak * ceiling * e), byts / mem_bw_Bps) + fixed_s
        time_out[p] = t
        eff_out[p] = flop / (t * peak)
