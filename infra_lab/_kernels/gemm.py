"""GEMM-efficiency kernel (numba) and its plain-Python reference.

Both functions take only numpy arrays and scalars; every hardware number (compute units,
macro-tiles, ceiling, peak, bandwidth) comes in as an argument. The public wrapper is
:func:`infra_lab.compute.gemm_times`.

Model, per problem (m, n, k, batch) and candidate macro-tile (tm, tn) and split-K s:

    util   = m·n / (ceil(m/tm)·tm · ceil(n/tn)·tn)           tile quantization (M, N)
    tiles  = ceil(m/tm) · ceil(n/tn) · batch · s
    wave   = tiles / (ceil(tiles/cus) · cus)                  wave quantization
    kq     = ceil(k/s/tk) · tk · s ;  kutil = k / kq          tile quantization (K)
    e(tile)= util · wave · kutil · tile_eff · (split_eff if s > 1)

    q          = max over (tile, s) of e(tile)
    efficiency = ceiling · q · W / (W + q·w0),   W = 2·m·n·k·batch
               (compute time (W/q + w0) / (peak · ceiling): the padded, wave-quantized work
               plus a fixed small-work cost w0, so time never falls as a dimension grows)
    time       = max(W / (peak · efficiency), bytes / mem_bw_Bps) + launch_s
    bytes      = batch · ((m·k + k·n) · in_bytes + m·n · out_bytes)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _one(m, n, k, b, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, cus,
         ceiling, w0):
    best = 0.0
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
            wave = tiles / (waves * cus)
            e = util * wave * kutil * tile_eff[j]
            if s > 1:
                e *= split_eff
            if e > best:
                best = e
    w = 2.0 * m * n * k * b
    return ceiling * best * w / (w + best * w0)


@njit(cache=True)
def gemm_kernel(ms, ns, ks, bs, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, cus,
                ceiling, w0, peak, mem_bw_Bps, in_bytes, out_bytes, launch_s, eff_out, time_out):
    """Fill ``eff_out`` [-] and ``time_out`` [s] for every shape (int64 arrays ms, ns, ks, bs)."""
    for i in range(ms.size):
        m = ms[i]
        n = ns[i]
        k = ks[i]
        b = bs[i]
        e = _one(m, n, k, b, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, cus,
                 ceiling, w0)
        eff_out[i] = e
        w = 2.0 * m * n * k * b
        t_c = w / (peak * e)
        t_m = b * ((m * k + k * n) * in_bytes + m * n * out_bytes) / mem_bw_Bps
        time_out[i] = (t_c if t_c > t_m else t_m) + launch_s


def gemm_reference(ms, ns, ks, bs, tile_m, tile_n, tile_eff, splits, split_eff, k_tile, cus,
                   ceiling, w0, peak, mem_bw_Bps, in_bytes, out_bytes, launch_s, eff_out,
                   time_out):
    """Plain-Python reference of :func:`gemm_kernel` (same arguments, same outputs)."""
    tiles_list = list(zip(tile_m.tolist(), tile_n.tolist(), tile_eff.tolist(), strict=True))
    split_list = splits.tolist()
    k_tile = int(k_tile)
    for i in range(len(ms)):
        m, n, k, b = int(ms[i]), int(ns[i]), int(ks[i]), int(bs[i])
        best = 0.0
        for tm, tn, te in tiles_list:
            gm, gn = math.ceil(m / tm), math.ceil(n / tn)
            util = (m * n) / (gm * tm * gn * tn)
            for s in split_list:
                kt = math.ceil(math.ceil(k / s) / k_tile)
                kutil = k / (kt * k_tile * s)
                tiles = gm * gn * b * s
                wave = tiles / (math.ceil(tiles / cus) * cus)
                e = util * wave * kutil * te * (split_eff if s > 1 else 1.0)
                best = max(best, e)
        w = 2.0 * m * n * k * b
        e = ceiling * best * w / (w + best * w0)
        eff_out[i] = e
        t_c = w / (peak * e)
        t_m = b * ((m * k + k * n) * in_bytes + m * n * out_bytes) / mem_bw_Bps
        time_out[i] = max(t_c, t_m) + launch_s


def empty_outputs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 output arrays (efficiency, time) of length ``size``."""
    return np.empty(size, dtype=np.float64), np.empty(size, dtype=np.float64)
