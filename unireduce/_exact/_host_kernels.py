"""The Numba kernels of :mod:`unireduce._exact._host` (imported only when Numba is installed).

Values are handled as float64 (every narrower format's values are float64 values). The exact state
is a superaccumulator: ``acc[j]`` holds a signed multiple of ``2**(32 j - 1074)``.
``fastmath`` stays off everywhere: it would fold the extraction ``(x + σ) − σ``.

>>> import numpy as np
>>> acc = np.zeros(NCHUNK, np.int64); add_double(acc, 0.5); add_double(acc, 0.25)
>>> round_acc(acc, 53, 2047)[0] == np.float64(0.75).view(np.int64)
True
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numba as nb
import numpy as np

__all__ = ["NCHUNK", "add_double", "cumsum_rows_k", "flushes", "round_acc", "sum_rows_k"]

B = 1024  # block length of the extraction: 2**11 >= B + 2
NCHUNK = 70  # 32-bit chunks covering k in [0, 2046 + 84)
_M32 = np.int64(0xFFFFFFFF)
_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_NEG0 = np.int64(-0x8000000000000000)
_U = 1.1102230246251565e-16  # 2**-53
_BIG = 2.0**1023

jit: Any = functools.partial(nb.njit, cache=True, fastmath=False, nogil=True)


@jit
def add_double(acc: Any, v: float) -> None:
    """``acc += v`` exactly (v finite): ``sig << (k & 31)`` split into three 32-bit chunks."""
    b = np.float64(v).view(np.int64)
    eb = (b >> 52) & 0x7FF
    mant = b & 0xFFFFFFFFFFFFF
    if eb == 0:
        if mant == 0:
            return
        k = np.int64(0)
        sig = mant
    else:
        k = eb - 1
        sig = mant | (np.int64(1) << 52)
    sh = k & 31
    j = k >> 5
    lo = (sig & _M32) << sh
    hi = (sig >> 32) << sh
    c0 = lo & _M32
    c1 = (lo >> 32) + (hi & _M32)
    c2 = hi >> 32
    if b < 0:
        acc[j] -= c0
        acc[j + 1] -= c1
        acc[j + 2] -= c2
    else:
        acc[j] += c0
        acc[j + 1] += c1
        acc[j + 2] += c2


@jit
def normalize(acc: Any) -> None:
    """Carry-propagate: chunks ``0..n-2`` in ``[0, 2**32)``, the top one signed."""
    for j in range(acc.shape[0] - 1):
        c = acc[j] >> 32
        acc[j] &= _M32
        acc[j + 1] += c


@jit
def _shift(a: int, e: int) -> Any:
    if e >= 0:
        return a << e
    if e > -63:
        return a >> (-e)
    return 0


@jit
def round_acc(acc0: Any, p: int, emask: int) -> Any:
    """(bits without sign, negative, zero) of the exact value of ``acc0`` in a format."""
    off = (2 - (emask >> 1) - p) + 1074  # the format's smallest subnormal, in acc's units
    acc = acc0.copy()
    normalize(acc)
    n = acc.shape[0]
    neg = acc[n - 1] < 0
    if neg:
        for j in range(n):
            acc[j] = -acc[j]
        normalize(acc)
    top = n - 1
    while top >= 0 and acc[top] == 0:
        top -= 1
    if top < 0:
        return np.int64(0), False, True
    bl = 0
    t = acc[top]
    while t:
        bl += 1
        t >>= 1
    lead = 32 * top + bl - 1
    q = max(lead - off - (p - 1), 0)
    if q >= emask - 1:
        return np.int64(emask) << (p - 1), neg, False
    sig = np.int64(0)
    s1 = np.int64(0)
    sticky = False
    for j in range(top, -1, -1):
        a = acc[j]
        if a == 0:
            continue
        base = 32 * j
        sig += _shift(a, base - q - off)
        s1 += _shift(a, base - q - off + 1)
        nlow = q + off - 1 - base
        if nlow >= 62 or (nlow > 0 and (a & ((np.int64(1) << nlow) - 1)) != 0):
            sticky = True
    if (s1 & 1) == 1 and (sticky or (sig & 1) == 1):
        sig += 1
    bits = (np.int64(q) << (p - 1)) + sig
    cap = np.int64(emask) << (p - 1)
    return min(bits, cap), neg, False


@jit
def flushes(tiny: float) -> bool:
    """Whether this thread's CPU flushes subnormals (DAZ/FTZ); ``tiny`` is 5e-324."""
    return tiny * 1.0 == 0.0 or tiny + tiny == 0.0


@jit
def block_extract(x: Any, lo: int, hi: int, acc: Any, buf: Any) -> bool:
    """Add ``x[lo:hi]`` exactly into ``acc``; False (nothing added) if a NaN or inf is there."""
    mx = np.int64(0)
    for i in range(lo, hi):
        b = np.float64(x[i]).view(np.int64) & _ABS
        mx = max(mx, b)
    if mx == 0:
        return True
    eb: Any = mx >> 52
    if eb >= 2047:
        return False
    s = max(eb, 1) - 1022 + 11  # σ = 2**s >= 2**11 · 2**E > (B + 2) max|x|
    if s > 1023:  # σ would overflow (issue 5: magnitudes near 2**1024): element by element
        for i in range(lo, hi):
            add_double(acc, np.float64(x[i]))
        return True
    n = hi - lo
    for i in range(n):
        buf[i] = np.float64(x[lo + i])
    while True:
        s = max(s, -1022)  # σ's ulp is then 2**-1074: q = r exactly and the loop ends
        sigma = math.ldexp(1.0, s)
        t0 = 0.0
        t1 = 0.0
        t2 = 0.0
        t3 = 0.0
        nz = False
        i = 0
        while i + 4 <= n:
            v0 = buf[i]
            v1 = buf[i + 1]
            v2 = buf[i + 2]
            v3 = buf[i + 3]
            q0 = (v0 + sigma) - sigma
            q1 = (v1 + sigma) - sigma
            q2 = (v2 + sigma) - sigma
            q3 = (v3 + sigma) - sigma
            r0 = v0 - q0
            r1 = v1 - q1
            r2 = v2 - q2
            r3 = v3 - q3
            buf[i] = r0
            buf[i + 1] = r1
            buf[i + 2] = r2
            buf[i + 3] = r3
            t0 += q0
            t1 += q1
            t2 += q2
            t3 += q3
            nz |= (r0 != 0.0) | (r1 != 0.0) | (r2 != 0.0) | (r3 != 0.0)
            i += 4
        while i < n:
            v0 = buf[i]
            q0 = (v0 + sigma) - sigma
            r0 = v0 - q0
            buf[i] = r0
            t0 += q0
            nz |= r0 != 0.0
            i += 1
        add_double(acc, t0)
        add_double(acc, t1)
        add_double(acc, t2)
        add_double(acc, t3)
        if not nz or s == -1022:
            return True
        s -= 42  # |r| <= ulp(σ)/2 = 2**(s-53); the next σ is 2**11 above that


@jit
def row_sum(x: Any, lo: int, hi: int, acc: Any, slow: bool) -> tuple[bool, bool, bool, bool]:
    """Add ``x[lo:hi]`` into ``acc``; return (any NaN, any +inf, any -inf, all -0.0)."""
    buf = np.empty(B, np.float64)
    nan = False
    pinf = False
    ninf = False
    allneg0 = True
    nblocks = 0
    for b0 in range(lo, hi, B):
        b1 = min(hi, b0 + B)
        done = False if slow else block_extract(x, b0, b1, acc, buf)
        if allneg0:
            for i in range(b0, b1):
                if np.float64(x[i]).view(np.int64) != _NEG0:
                    allneg0 = False
                    break
        if not done:
            for i in range(b0, b1):
                v = np.float64(x[i])
                if v != v:
                    nan = True
                elif v == np.inf:
                    pinf = True
                elif v == -np.inf:
                    ninf = True
                else:
                    add_double(acc, v)
        nblocks += 1
        if nblocks == 4096:  # at most ~1300 chunk additions per block: no int64 overflow
            normalize(acc)
            nblocks = 0
    return nan, pinf, ninf, allneg0


@jit
def fin(
    acc: Any,
    nan: bool,
    pinf: bool,
    ninf: bool,
    allneg0: bool,
    out: Any,
    r: int,
    p: int,
    emask: int,
    nbits: int,
) -> None:
    """Store the IEEE 754 result of a row in ``out[r]`` (bit pattern as int64)."""
    sign = np.int64(1) << (nbits - 1)
    inf = np.int64(emask) << (p - 1)
    if nan or (pinf and ninf):
        out[r] = inf | (np.int64(1) << (p - 2))
    elif pinf:
        out[r] = inf
    elif ninf:
        out[r] = inf | sign
    else:
        bits, neg, zero = round_acc(acc, p, emask)
        if zero:
            out[r] = sign if allneg0 else 0
        else:
            out[r] = (bits | sign) if neg else bits


@jit(parallel=True)
def sum_rows_k(x: Any, out: Any, p: int, emask: int, nbits: int, slow: bool, nt: int) -> None:
    """``out[r]`` = bits of the exact sum of row ``r`` of the C-contiguous ``x``, rounded.

    ``nt`` is the number of threads (Numba's ``get_num_threads()``)."""
    m, k = x.shape
    if m < nt and k >= 4 * B * nt:
        # Few long rows: split each, one superaccumulator per part, exact integer merge.
        step = -(-k // (nt * B)) * B
        for r in range(m):
            accs = np.zeros((nt, NCHUNK), np.int64)
            flags = np.zeros((nt, 4), np.bool_)
            for t in nb.prange(nt):
                lo = min(k, t * step)
                hi = min(k, lo + step)
                f = row_sum(x[r], lo, hi, accs[t], slow)
                normalize(accs[t])
                flags[t, 0] = f[0]
                flags[t, 1] = f[1]
                flags[t, 2] = f[2]
                flags[t, 3] = f[3]
            acc = np.zeros(NCHUNK, np.int64)
            for t in range(nt):
                acc += accs[t]
            fin(
                acc,
                flags[:, 0].any(),
                flags[:, 1].any(),
                flags[:, 2].any(),
                flags[:, 3].all(),
                out,
                r,
                p,
                emask,
                nbits,
            )
        return
    for r in nb.prange(m):
        acc = np.zeros(NCHUNK, np.int64)
        f = row_sum(x[r], 0, k, acc, slow)
        fin(acc, f[0], f[1], f[2], f[3], out, r, p, emask, nbits)


@jit
def round64(v: float, p: int, emask: int) -> tuple[float, float]:
    """(``v`` rounded half to even to the format, a lower bound of the distance from that result
    to the nearest rounding boundary). ``v`` finite; the format's range lies within float64's."""
    qmin = 2 - (emask >> 1) - p if p != 53 else -1074
    a = abs(v)
    if a == 0.0:
        return v, 0.0
    _, e = math.frexp(a)  # a = m · 2**e, m in [0.5, 1)
    q = max(e - p, qmin)
    if p == 53:
        r = v
    else:
        scaled = math.ldexp(a, -q)  # exact power-of-two scaling
        fl = np.floor(scaled)
        frac = scaled - fl
        if frac > 0.5 or (frac == 0.5 and (fl % 2.0) == 1.0):
            fl += 1.0
        r = math.ldexp(fl, q)
        if v < 0:
            r = -r
    ar = abs(r)
    if ar == 0.0:
        return r, math.ldexp(1.0, qmin - 1)
    m2, e2 = math.frexp(ar)
    qq = max(e2 - p, qmin)
    half = math.ldexp(1.0, qq - 1)
    if m2 == 0.5 and qq > qmin:
        half = half * 0.5  # the neighbour below a power of two is closer
    return r, half


@jit
def to_bits(r: float, p: int, emask: int, nbits: int) -> Any:
    """Bit pattern of ``r``, a finite value of the format."""
    if p == 53:
        return np.float64(r).view(np.int64)
    sign = np.int64(0)
    if np.float64(r).view(np.int64) < 0:
        sign = np.int64(1) << (nbits - 1)
    a = abs(r)
    if a == 0.0:
        return sign
    qmin = 2 - (emask >> 1) - p
    _, e = math.frexp(a)
    q = max(e - p, qmin)
    sig = np.int64(math.ldexp(a, -q))
    return sign | ((np.int64(q - qmin) << (p - 1)) + sig)


@jit(parallel=True)
def cumsum_rows_k(x: Any, out: Any, p: int, emask: int, nbits: int, slow: bool) -> None:
    """``out[r, i]`` = bits of the exact prefix sum ``x[r, :i+1]``, rounded (x C-contiguous)."""
    m, k = x.shape
    sgn = np.int64(1) << (nbits - 1)
    inf = np.int64(emask) << (p - 1)
    nanbits = inf | (np.int64(1) << (p - 2))
    bias = emask >> 1
    maxf = math.ldexp(2.0 - math.ldexp(1.0, 1 - p), bias) if p != 53 else np.inf
    for r in nb.prange(m):
        row = x[r]
        o = out[r]
        acc = np.zeros(NCHUNK, np.int64)
        synced = 0  # row[:synced] are in acc
        pending = 0
        s = 0.0
        c = 0.0
        e = 0.0
        valid = not slow  # whether s + c (error <= e) approximates the prefix
        nan = False
        pinf = False
        ninf = False
        allneg0 = True
        for i in range(k):
            v = np.float64(row[i])
            if allneg0 and v.view(np.int64) != _NEG0:
                allneg0 = False
            if v != v:
                nan = True
            elif v == np.inf:
                pinf = True
            elif v == -np.inf:
                ninf = True
            if nan or pinf or ninf:
                if nan or (pinf and ninf):
                    o[i] = nanbits
                elif pinf:
                    o[i] = inf
                else:
                    o[i] = inf | sgn
                continue
            if valid:
                if abs(v) < _BIG and abs(s) < _BIG:
                    sn = s + v  # TwoSum (Knuth): s + v = sn + err exactly
                    bb = sn - s
                    err = (s - (sn - bb)) + (v - bb)
                    s = sn
                    c = c + err
                    e += abs(c) * _U  # |fl(c + err) - (c + err)| <= u |fl(c + err)|
                    r0 = s + c
                    bb = r0 - s
                    t = (s - (r0 - bb)) + (c - bb)
                    if r0 == 0.0 and t == 0.0 and e == 0.0:
                        o[i] = sgn if allneg0 else 0  # every step was exact: the sum is zero
                        continue
                    if abs(r0) < _BIG:
                        y, half = round64(r0, p, emask)
                        if abs(y) <= maxf and abs(r0 - y) + abs(t) + e < half:
                            if y == 0.0:
                                o[i] = sgn if allneg0 else 0
                            else:
                                o[i] = to_bits(y, p, emask, nbits)
                            continue
                else:
                    valid = False
            # Exact: bring acc up to date, round it, and resynchronise s + c with it.
            for j in range(synced, i + 1):
                add_double(acc, np.float64(row[j]))
            pending += i + 1 - synced
            synced = i + 1
            if pending > (1 << 26):
                normalize(acc)
                pending = 0
            bits, neg, zero = round_acc(acc, p, emask)
            if zero:
                o[i] = sgn if allneg0 else 0
            else:
                o[i] = (bits | sgn) if neg else bits
            if slow:
                continue
            b64, n64, z64 = round_acc(acc, 53, 2047)
            valid = True
            s = 0.0
            c = 0.0
            e = 0.0
            if z64:
                continue
            s = np.int64(b64).view(np.float64)
            if n64:
                s = -s
            if abs(s) >= _BIG:
                valid = False
                continue
            add_double(acc, -s)
            bc, nc, zc = round_acc(acc, 53, 2047)
            add_double(acc, s)
            if not zc:
                c = np.int64(bc).view(np.float64)
                if nc:
                    c = -c
            e = abs(c) * _U
