"""Numba kernel for the owned-cost Monte Carlo, sampling included.

Draw every input from its range with the counter-based stream of
``infra_lab.economics.uncertainty`` (SplitMix64 of a per-parameter key and the sample
index), then evaluate the owned cost per useful GPU-hour, chunk by chunk. Because the stream
is a pure function of (key, index), the kernel gives the same numbers as the plain numpy path (``infra_lab.economics.uncertainty.sample`` +
``infra_lab.economics.owned_components``), which is the reference the tests compare it with.
The draws and the cost formula take the reference's operations in the reference's order
(the triangular quantile's products, the components summed one by one), so with triangular
ranges the two agree to the bit (no transcendental but ``sqrt``, which IEEE 754 rounds
exactly, and ``pow`` from the same C library); lognormal draws go through ``exp``, ``log`` and
``cos``, whose last bit may differ between numpy's and LLVM's implementations.

Inputs arrive in the order of ``infra_lab.economics.OWNED_PARAMS`` (the I_* indices below);
``codes`` per input: 0 fixed (``mode`` is the value), 1 triangular(lo, mode, hi), 2
lognormal(median ``mode``, ``sigma``); ``scale`` per input multiplies each of its draws (1.0:
as drawn; the like-for-like quote's ``scale=``). Nothing here reads data or validates: the
public ``monte_carlo_owned_cost`` and ``owned_gpu_hour_quote`` do that.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

STRAIGHT_LINE = 0
EXPONENTIAL = 1
PER_PORT = 0
FRACTION = 1

(I_CAPEX, I_HOST, I_SPARE, I_NIC, I_NICS, I_PORT, I_PORTS, I_OPTIC, I_OPTICS, I_FRAC, I_STORAGE,
 I_FRONT, I_LIFE, I_OOMS, I_RATE, I_SPR, I_AVG, I_PUE, I_ELEC, I_COLO, I_MAINT, I_INS, I_FTE,
 I_STAFF, I_SETUP, I_UTIL) = range(26)
N_INPUTS = 26

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi


@njit(cache=True, inline="always")
def _u(key, k):
    """The k-th (0-based) uniform in (0, 1) of the stream with 64-bit ``key`` (inlined into the
    sampling loops)."""
    z = key + np.uint64(k + 1) * _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return (float(z >> _S11) + 0.5) * _INV53


@njit(cache=True)
def uniform_kernel(key, start, n):
    """``n`` uniforms of one stream from index ``start`` (for tests of the stream)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = _u(key, start + i)
    return out


@njit(cache=True)
def _fill(X, j, code, key, start, m, lo, mode, hi, sigma, scale):
    """Row j of the chunk: m draws of input j for samples start .. start + m - 1, each times
    ``scale``. Branch-light inner loops (both triangular sides computed, one kept) so LLVM
    vectorizes; the products in ``uncertainty.triangular_quantile``'s order."""
    if code == 0 or hi == lo:
        for t in range(m):
            X[j, t] = mode * scale
    elif code == 1:
        fc = (mode - lo) / (hi - lo)
        w = hi - lo
        a = mode - lo
        b = hi - mode
        for t in range(m):
            u = _u(key, start + t)
            left = lo + math.sqrt(u * w * a)
            right = hi - math.sqrt((1.0 - u) * w * b)
            X[j, t] = (left if u < fc else right) * scale
    else:
        for t in range(m):
            u1 = _u(key, 2 * (start + t))
            u2 = _u(key, 2 * (start + t) + 1)
            z = math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)
            X[j, t] = mode * math.exp(sigma * z) * scale


@njit(cache=True)
def _one(x, tdp_W, dep_method, net_method, age_years, hours_per_year, weeks_per_year):
    """The owned cost per useful GPU-hour of one draw ``x``: ``owned._owned_components``'s
    operations in its order (each fixed component divided by the hours, then summed)."""
    H = hours_per_year
    spare = 1.0 + x[I_SPARE]
    server = (x[I_CAPEX] + x[I_HOST]) * spare
    if net_method == PER_PORT:
        net = (x[I_NIC] * x[I_NICS] + x[I_PORT] * x[I_PORTS] + x[I_OPTIC] * x[I_OPTICS]) * spare
    else:
        f = x[I_FRAC]
        net = server * f / (1.0 - f)
    other = (server + net) * (x[I_STORAGE] + x[I_FRONT])
    capex = server + net + other
    r = x[I_RATE]
    life = x[I_LIFE]
    if dep_method == STRAIGHT_LINE:
        dep = 1.0 / life
        if r == 0.0:
            crf = 1.0 / life
        else:
            crf = r / (1.0 - (1.0 + r) ** (-life))
        fin = crf - dep
        scale = 1.0
    else:
        dep = math.log(10.0) * x[I_OOMS]
        fin = r
        scale = 10.0 ** (-x[I_OOMS] * age_years)
    kw = tdp_W * 1e-3 * x[I_SPR]
    kw_provisioned = kw * (1.0 + x[I_SPARE])
    fixed = server * scale * dep / H
    fixed += net * scale * dep / H
    fixed += other * scale * dep / H
    fixed += capex * scale * fin / H
    fixed += kw_provisioned * x[I_COLO] * 12.0 / H
    fixed += x[I_MAINT] * capex / H
    fixed += x[I_INS] * capex / H
    fixed += x[I_FTE] / 1000.0 * x[I_STAFF] / H
    setup = fixed * x[I_SETUP] / (weeks_per_year * life)
    energy = kw * x[I_AVG] * x[I_PUE] * x[I_ELEC]
    return (fixed + setup) / x[I_UTIL] + energy


_CHUNK = 2048


@njit(cache=True)
def _chunk(out, c, keys, codes, lo, mode, hi, sigma, scale, tdp_W, dep_method, net_method, age_years,
           hours_per_year, weeks_per_year):
    n = out.shape[0]
    k = keys.shape[0]
    start = c * _CHUNK
    m = min(_CHUNK, n - start)
    X = np.empty((k, _CHUNK))
    for j in range(k):                      # input-major: each input's draws for the whole chunk
        _fill(X, j, codes[j], keys[j], start, m, lo[j], mode[j], hi[j], sigma[j], scale[j])
    x = np.empty(k)
    for t in range(m):
        for j in range(k):
            x[j] = X[j, t]
        out[start + t] = _one(x, tdp_W, dep_method, net_method, age_years, hours_per_year, weeks_per_year)


@njit(cache=True)
def owned_cost_mc_kernel(n, keys, codes, lo, mode, hi, sigma, scale, tdp_W, dep_method, net_method,
                         age_years, hours_per_year, weeks_per_year):
    """Owned cost [USD per useful GPU-hour] of ``n`` Monte Carlo samples, drawn in-kernel.

    Samples are processed in chunks of 2,048; inside a chunk each input's draws are made in
    one tight loop, then the cost formula runs per sample. Every draw depends only on (key,
    sample index), so the result does not depend on the chunking. Serial on purpose: a
    ``prange`` over chunks measured slower on the project's 2 shared cores
    (benchmarks/bench_economics.py docstring)."""
    out = np.empty(n)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in range(n_chunks):
        _chunk(out, c, keys, codes, lo, mode, hi, sigma, scale, tdp_W, dep_method, net_method, age_years,
               hours_per_year, weeks_per_year)
    return out
