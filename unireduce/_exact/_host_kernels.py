"""The Numba kernels of :mod:`unireduce._exact._host` (imported only when Numba is installed).

Values are handled as float64 (every narrower format's values are float64 values). The exact state
is a superaccumulator: ``acc[j]`` holds a signed multiple of ``2**(32 j - 1074)``.
``fastmath`` stays off except for ``reassoc`` on the block sums of :func:`extract` and
:func:`_level`, which may be taken in any order; :func:`split`, which must not be folded, is
compiled without it.

>>> import numpy as np
>>> acc = np.zeros(NCHUNK, np.int64); add_double(acc, 0.5); add_double(acc, 0.25)
>>> bool(round_acc(acc, 53, 2047)[0] == np.float64(0.75).view(np.int64))
True
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = [
    "NCHUNK",
    "add_double",
    "bounded_rows_k",
    "cumsum_rows_k",
    "flushes",
    "round_acc",
    "round_bounded_k",
    "sum_cols_k",
    "sum_cols_kb",
    "sum_rows_k",
]

B = 1024  # block length of the extraction: 2**11 >= B + 2
NCHUNK = 70  # 32-bit chunks covering k in [0, 2046 + 84)
_M32 = np.int64(0xFFFFFFFF)
_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_NEG0 = np.int64(-0x8000000000000000)
_U = 1.1102230246251565e-16  # 2**-53
_BIG = 2.0**1023
_GUARD = 1.0 + 2.0**-20  # covers the rounding of the few additions in a bound

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


def wide(v: Any) -> float:
    """``v`` (float32 or float64) as a float64, exactly and by integer operations for float32:
    the CPU's conversion reads a float32 subnormal as zero where DAZ is on (after
    ``torch.set_flush_denormal(True)``; in XLA's threads), which the slow route must not.

    >>> import numba, numpy as np
    >>> numba.njit(lambda v: wide(v))(np.float32(2.0**-149)) == 2.0**-149
    True
    """
    return float(v)


@overload(wide)
def _wide(v: Any) -> Any:
    if v != nb.types.float32:

        def same(v: Any) -> float:
            return np.float64(v)

        return same

    def impl(v: Any) -> float:
        b = np.int64(np.float32(v).view(np.int32)) & 0xFFFFFFFF
        sign = (b >> 31) << 63
        e = (b >> 23) & 0xFF
        m = b & 0x7FFFFF
        if e == 0xFF:  # infinities and NaNs keep their payload
            bits = sign | (np.int64(0x7FF) << 52) | (m << 29)
        elif e != 0:
            bits = sign | ((e + 896) << 52) | (m << 29)
        elif m == 0:
            bits = sign
        else:  # subnormal: m * 2**-149, a normal float64
            n = 0
            while (m >> n) > 1:
                n += 1  # m's top bit
            bits = sign | ((n - 149 + 1023) << 52) | ((m << (52 - n)) & 0xFFFFFFFFFFFFF)
        return np.int64(bits).view(np.float64)

    return impl


@jit
def flushes(tiny: float) -> bool:
    """Whether this thread's CPU flushes subnormals (DAZ/FTZ); ``tiny`` is 5e-324."""
    return tiny * 1.0 == 0.0 or tiny + tiny == 0.0


@jit
def here(slow: bool) -> bool:
    """``slow``, or whether the calling thread flushes subnormals. Numba's worker threads keep
    the flush mode of the thread that started them, which may differ from the caller's (after
    ``torch.set_flush_denormal(True)`` before the first parallel call, a worker's fast route
    gave 0 for a row of float32 subnormals). The 5e-324 tested is :func:`_opaque`: LLVM assumes
    IEEE subnormals and would fold the test to False (it did, in a kernel where it could prove
    the earlier run-time value ``1 + (n >> 62)``, n an array length, to be 1)."""
    return slow or flushes(_opaque(5e-324))


@jit(fastmath={"reassoc"})
def _level(src: Any, dst: Any, sigma: float) -> tuple[float, bool]:
    """One extraction level: ``dst[i] = r``, returns (Σq, any r nonzero); SIMD as in
    :func:`extract` (``src`` may be ``dst``)."""
    t = 0.0
    nz = 0
    one = unit()
    for i in range(dst.shape[0]):
        q, r = split(np.float64(src[i]), sigma, one)
        dst[i] = r
        t += q
        nz |= r != 0.0
    return t, nz != 0


@jit
def _absmax_bits(xs: Any) -> Any:
    mx = np.int64(0)
    for i in range(xs.shape[0]):
        mx = max(mx, np.float64(xs[i]).view(np.int64) & _ABS)
    return mx


@jit
def block_extract(x: Any, lo: int, hi: int, acc: Any, buf: Any) -> bool:
    """Add ``x[lo:hi]`` (at most ``B`` values) exactly into ``acc``; False (nothing added) if a
    NaN or inf is there. Levels of extraction until every remainder is zero."""
    xs = x[lo:hi]
    mx = _absmax_bits(xs)
    if mx == 0:
        return True
    eb: Any = mx >> 52
    if eb >= 2047:
        return False
    s = max(eb, 1) - 1022 + 11  # σ = 2**s >= 2**11 · 2**E > (B + 2) max|x|
    if s > 1023:  # σ would overflow (issue 5: magnitudes near 2**1024): element by element
        for i in range(xs.shape[0]):
            add_double(acc, np.float64(xs[i]))
        return True
    rb = buf[: xs.shape[0]]
    s = max(s, -1022)
    t, nz = _level(xs, rb, pow2(s))
    add_double(acc, t)
    while nz and s > -1022:
        s = max(s - 42, -1022)  # |r| <= ulp(σ)/2 = 2**(s-53): the next σ is 2**11 above that
        t, nz = _level(rb, rb, pow2(s))  # at s = -1022, ulp(σ) = 2**-1074: every r becomes 0
        add_double(acc, t)
    return True


@jit
def classify(v: float, nan: bool, pinf: bool, ninf: bool) -> tuple[bool, bool, bool]:
    """The flags (NaN, +inf, -inf seen so far) updated with ``v``."""
    return nan or v != v, pinf or v == np.inf, ninf or v == -np.inf


@jit
def row_sum(x: Any, lo: int, hi: int, acc: Any, slow: bool) -> tuple[bool, bool, bool, bool]:
    """Add ``x[lo:hi]`` into ``acc``; return (any NaN, any +inf, any -inf, all -0.0)."""
    buf = np.empty(B, np.float64)
    slow = here(slow)
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
                if np.float64(wide(x[i])).view(np.int64) != _NEG0:
                    allneg0 = False
                    break
        if not done:
            for i in range(b0, b1):
                v = wide(x[i])
                nan, pinf, ninf = classify(v, nan, pinf, ninf)
                if abs(v) < np.inf:
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


@jit(inline="always")
def pow2n(e: int) -> float:
    """``2.0**e`` for ``-1022 <= e <= 1023`` from its bit pattern, branch-free (SIMD); smaller
    ``e`` give ``2.0**-1022`` (callers pass exponents of the normal range)."""
    return np.int64((max(e, -1022) + 1023) << 52).view(np.float64)


@jit
def pow2(e: int) -> float:
    """``2.0**e`` (``e <= 1023``), from its bit pattern where it is normal."""
    if e >= -1022:
        return np.int64((e + 1023) << 52).view(np.float64)
    return math.ldexp(1.0, e)


@jit(inline="always")
def near_fast(r0: float, p: int) -> tuple[bool, float, float]:
    """``(True, y, half)`` of :func:`near` for a normal float64 or float32 result (inlined in the
    cumsum loop); ``(False, 0, 0)`` otherwise."""
    if p == 53:
        yb = np.float64(r0).view(np.int64) & _ABS
        eb = yb >> 52
        if 54 < eb < 2047:
            low = (yb & 0xFFFFFFFFFFFFF) == 0  # the gap below a power of two is half as wide
            return True, r0, np.int64((eb - 53 - low) << 52).view(np.float64)
    elif p == 24 and abs(r0) < 3.4e38:
        y32 = np.float32(r0)  # round half to even (LLVM fptrunc)
        yb32 = np.int64(y32.view(np.int32)) & 0x7FFFFFFF
        eb32 = yb32 >> 23
        if 1 < eb32 < 255:
            low = (yb32 & 0x7FFFFF) == 0
            return True, np.float64(y32), np.int64((eb32 + 872 - low) << 52).view(np.float64)
    return False, 0.0, 0.0


@jit
def near(r0: float, p: int, emask: int) -> tuple[float, float]:
    """:func:`round64`'s ``(y, half)``, from bit patterns for normal float64/float32 results."""
    if p == 53:
        yb = np.float64(r0).view(np.int64) & _ABS
        eb = yb >> 52
        if 54 < eb < 2047:
            if yb & 0xFFFFFFFFFFFFF == 0:
                return r0, pow2(eb - 1077)  # the gap below a power of two is half as wide
            return r0, pow2(eb - 1076)
    elif p == 24 and abs(r0) < 3.4e38:
        y32 = np.float32(r0)  # round half to even (LLVM fptrunc)
        yb32 = np.int64(y32.view(np.int32)) & 0x7FFFFFFF
        eb32 = yb32 >> 23
        if 1 < eb32 < 255:
            if yb32 & 0x7FFFFF == 0:
                return np.float64(y32), pow2(eb32 - 152)
            return np.float64(y32), pow2(eb32 - 151)
    return round64(r0, p, emask)


def _muladd_typer(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` as LLVM's ``llvm.fmuladd.f64``: one fused operation where the CPU has FMA,
    else a multiply and an add (no fast-math flags: never reassociated or folded)."""
    f64 = types.float64

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(d, [d, d, d]), "llvm.fmuladd.f64"
        )
        return builder.call(fn, args)

    return f64(f64, f64, f64), codegen


_muladd: Any = intrinsic(_muladd_typer)


def _opaque_typer(typingctx: Any, v: Any) -> Any:
    """``v`` (float64), passed through memory that an empty inline-assembly statement may have
    changed (a compiler barrier: any architecture), so LLVM cannot fold what follows from it."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once_value(builder, args[0])
        barrier = ir.FunctionType(ir.VoidType(), [slot.type])
        builder.asm(barrier, "", "r,~{memory}", [slot], side_effect=True)
        return builder.load(slot)

    return types.float64(types.float64), codegen


_opaque: Any = intrinsic(_opaque_typer)


@jit(inline="always")
def unit() -> float:
    """1.0, a value the compiler cannot see (:func:`_opaque`), so ``v·1 + σ`` stays an FMA."""
    return _opaque(1.0)


@jit(inline="never")
def split(v: float, sigma: float, one: float) -> tuple[float, float]:
    """``(q, r)``: ``q = (v + σ) − σ`` is ``v`` rounded to a multiple of ``ulp(σ)``, ``r = v − q``.

    ``one`` is 1.0 (:func:`unit`): the two additions are ``v·1 + σ`` and ``w·1 − σ``, the same
    roundings done by the FMA units. On AMD Zen 4 additions issue on two pipes and FMAs on two
    others, so the extraction takes 3 instead of 5 cycles per 8 values (10^8 float64 values from
    L1: 10.6 ms instead of 17.4). Compiled without fast-math flags: LLVM keeps them per
    instruction after inlining, so the ``reassoc`` of a caller's sums never reaches (and never
    folds) these operations.
    """
    q = _muladd(_muladd(v, one, sigma), one, -sigma)
    return q, v - q


@jit(fastmath={"reassoc"})
def extract(
    x: Any, xi: Any, lo: int, hi: int, sigma: float, absmask: int
) -> tuple[float, float, Any]:
    """``(Σq, Σr)`` over ``x[lo:hi]`` (see :func:`split`; ``lo < hi``), vectorised, and the
    largest ``|x|`` there as its bit pattern (``xi`` is ``x`` viewed as integers).

    ``reassoc`` lets LLVM reorder only these sums (SIMD): the sum of the ``q`` is exact in any
    order, and the caller's bound on the error of the sum of the ``r`` holds for any order.
    """
    xs = x[lo:hi]  # a 0-based loop: no negative-index wraparound, which blocks SIMD
    ns = xi[lo:hi]
    t = 0.0
    tau = 0.0
    mx = ns[0] & absmask
    one = unit()
    for i in range(xs.shape[0]):
        q, r = split(np.float64(xs[i]), sigma, one)
        t += q
        tau += r
        mx = max(mx, ns[i] & absmask)
    return t, tau, mx


@jit
def block_max(xi: Any, lo: int, hi: int, absmask: int) -> Any:
    """Largest ``|x|`` of ``x[lo:hi]`` as its bit pattern (``xi`` is ``x`` viewed as integers)."""
    xs = xi[lo:hi]
    mx = xs[0] & absmask
    for i in range(xs.shape[0]):
        mx = max(mx, xs[i] & absmask)
    return mx


@jit
def sigma_exp(mx: Any, mshift: int, ebias: int) -> Any:
    """``s`` with ``2**s >= 2**11 · 2**E > (B + 2) max|x|`` for the block maximum ``mx`` (bits)."""
    eb: Any = max(np.int64(mx >> mshift), 1)
    return eb - ebias + 11


@jit
def dd_add(s: float, c: float, e: float, v: float) -> tuple[float, float, float]:
    """Add ``v`` to the double-double ``s + c``; ``e`` bounds the error (``|s|, |v| < 2**1023``)."""
    sn = s + v  # TwoSum (Knuth): s + v = sn + err exactly
    bb = sn - s
    err = (s - (sn - bb)) + (v - bb)
    c2 = c + err
    return sn, c2, e + abs(c2) * _U  # |fl(c + err) - (c + err)| <= u |fl(c + err)|


@jit
def dd_round(s: float, c: float, e: float, p: int, emask: int, nbits: int) -> tuple[bool, Any]:
    """``(certified, bits)``: the bits of every value within ``e`` of ``s + c``, rounded to the
    format, when they are all the same nonzero finite value; else ``(False, 0)``."""
    r0 = s + c
    bb = r0 - s
    t = (s - (r0 - bb)) + (c - bb)  # s + c = r0 + t exactly
    if not abs(r0) < _BIG:
        return False, np.int64(0)
    bias = emask >> 1
    maxf = math.ldexp(2.0 - math.ldexp(1.0, 1 - p), bias) if p != 53 else np.inf
    y, half = near(r0, p, emask)
    if y == 0.0 or abs(y) > maxf:
        return False, np.int64(0)
    if (abs(r0 - y) + abs(t) + e) * _GUARD < half:
        return True, to_bits(y, p, emask, nbits)
    return False, np.int64(0)


@jit
def row_fast(
    x: Any, xi: Any, lo: int, hi: int, absmask: int, mshift: int, ebias: int, femask: int
) -> tuple[bool, float, float, float]:
    """``(ok, s, c, e)``: the sum of ``x[lo:hi]`` is within ``e`` of ``s + c``, if ``ok``.

    Per block of ``B``: one extraction, ``Σq`` exact, ``Σr`` within ``2**(s-85)``: ``|r| <=
    ulp(σ)/2 = 2**(s-53)``, ``Σ|r| <= 2**(s-43)`` and ``γ_1023 < 2**-43``. Not ok (the caller
    takes the exact path) on NaN, inf, magnitudes near the overflow threshold.
    """
    s = 0.0
    c = 0.0
    e = 0.0
    if lo >= hi:
        return True, s, c, e
    # One streaming pass: each block extracts with the σ its predecessor's maximum suggests (the
    # first block's is measured) and measures its own; a block whose σ proves too small (inexact)
    # or much too large (a loose bound) is redone from L1. Measuring each block's maximum in a
    # pass of its own first read memory in bursts that computing did not overlap (10^8 float64
    # values: 30-37 ms against 27 for this loop and 24-28 for np.sum, one thread).
    se = min(
        max(sigma_exp(block_max(xi, lo, min(hi, lo + B), absmask), mshift, ebias), -1022), 1022
    )
    for b0 in range(lo, hi, B):
        b1 = min(hi, b0 + B)
        t, tau, mx = extract(x, xi, b0, b1, pow2(se), absmask)
        if mx == 0:
            continue
        need = sigma_exp(mx, mshift, ebias)
        if (mx >> mshift) >= femask or need > 1022:
            return False, s, c, e
        need = max(need, -1022)  # σ's ulp is then 2**-1074: q = v and r = 0
        if need > se or need < se - 12:
            se = need
            t, tau, mx = extract(x, xi, b0, b1, pow2(se), absmask)
        s, c, e = dd_add(s, c, e, t)
        s, c, e = dd_add(s, c, e, tau)
        e += pow2(se - 85)  # underflows to 0 only where the r sums are exact
        if abs(s) >= _BIG / 8:
            return False, s, c, e
        se = min(need + 2, 1022)  # the next block's σ: a little slack, few redos
    return True, s, c, e


@jit
def exact_row(
    x: Any, lo: int, hi: int, out: Any, r: int, p: int, emask: int, nbits: int, slow: bool
) -> None:
    """``out[r]`` = bits of the exact sum of ``x[lo:hi]`` (the certified fallback)."""
    acc = np.zeros(NCHUNK, np.int64)
    f = row_sum(x, lo, hi, acc, slow)
    fin(acc, f[0], f[1], f[2], f[3], out, r, p, emask, nbits)


@jit(fastmath={"reassoc"})
def plain_block(x: Any, lo: int, hi: int) -> tuple[float, float]:
    """``(Σv, Σ|v|)`` over ``x[lo:hi]`` (at most ``B`` float32 values) in float64, in any order
    (SIMD). Any order of ``n - 1`` additions errs by at most ``γ_(n-1) Σ|v|`` (Higham, *Accuracy
    and Stability of Numerical Algorithms*, 4.2; additions lose nothing to underflow), and the
    computed ``Σ|v|`` is at least ``(1 - γ_(n-1))`` of the exact one: the error is below
    ``2**-43`` times the second result."""
    xs = x[lo:hi]
    t = 0.0
    a = 0.0
    for i in range(xs.shape[0]):
        v = np.float64(xs[i])
        t += v
        a += abs(v)
    return t, a


@jit
def row_plain(x: Any, lo: int, hi: int) -> tuple[bool, float, float, float]:
    """:func:`row_fast`'s ``(ok, s, c, e)`` from plain float64 block sums of float32 values
    (:func:`plain_block`), which certify a result of at most 24 bits unless the sum cancels
    by more than about ``2**18``: for such formats it runs first, in 0.8 of ``np.sum``'s time.
    Float32 magnitudes keep every bound normal and finite; NaN or inf fail the certification."""
    s = 0.0
    c = 0.0
    e = 0.0
    for b0 in range(lo, hi, B):
        t, a = plain_block(x, b0, min(hi, b0 + B))
        s, c, e = dd_add(s, c, e, t)
        e += a * 2.0**-43
    return True, s, c, e


@jit
def row_cert(
    x: Any, xi: Any, lo: int, hi: int, fb: Any, plain: bool
) -> tuple[bool, float, float, float]:
    """:func:`row_plain` if ``plain``, else :func:`row_fast` (``fb`` as in :func:`sum_rows_k`)."""
    if plain:
        return row_plain(x, lo, hi)
    return row_fast(x, xi, lo, hi, fb[0], fb[1], fb[2], fb[3])


@jit(parallel=True)
def _parts(row: Any, rowi: Any, nt: int, step: int, fb: Any, plain: bool, slow: bool) -> Any:
    """:func:`row_cert` of ``nt`` parts of one long row in parallel, merged: ``(ok, s, c, e)``
    (not ok if a thread flushes subnormals, :func:`here`)."""
    k = row.shape[0]
    parts = np.zeros((nt, 4), np.float64)
    for t in nb.prange(nt):
        lo = min(k, t * step)
        hi = min(k, lo + step)
        ok, ps, pc, pe = False, 0.0, 0.0, 0.0
        if not here(slow):
            ok, ps, pc, pe = row_cert(row, rowi, lo, hi, fb, plain)
        parts[t, 0] = 1.0 if ok else 0.0
        parts[t, 1] = ps
        parts[t, 2] = pc
        parts[t, 3] = pe
    s, c, e = 0.0, 0.0, 0.0
    allok = True
    for t in range(nt):
        allok = allok and parts[t, 0] == 1.0
        s, c, e = dd_add(s, c, e, parts[t, 1])
        s, c, e = dd_add(s, c, e, parts[t, 2])
        e += parts[t, 3]
    return allok and abs(s) < _BIG / 8, s, c, e


@jit
def plain_first(p: int, itemsize: int) -> bool:
    """Whether plain float64 sums (with the bound ``2**-43 Σ|v|`` per block of 1024) are tried
    first: float32 data (itemsize 4; halves arrive widened) and results of at most 24 bits."""
    return p <= 24 and itemsize == 4


@jit(parallel=True)
def sum_rows_k(
    x: Any,
    xi: Any,
    out: Any,
    p: int,
    emask: int,
    nbits: int,
    slow: bool,
    nt: int,
    fb: Any,
) -> None:
    """``out[r]`` = bits of the exact sum of row ``r`` of the C-contiguous ``x``, rounded.

    ``xi`` is ``x`` viewed as integers; ``fb`` = (abs mask, significand bits, exponent bias,
    all-ones exponent) of ``x``'s format; ``nt`` the number of threads (Numba's
    ``get_num_threads()``). Each row takes the certified fast paths (:func:`row_plain` for
    float32 data and results of at most 24 bits, then :func:`row_fast`), else the exact one."""
    m, k = x.shape
    first = 0 if plain_first(p, x.itemsize) else 1  # 0: row_plain first
    if m < nt and k >= 4 * B * nt:
        # Few long rows: split each; per part a double-double and bound, merged.
        step = -(-k // (nt * B)) * B
        for r in range(m):
            done = False
            for mode in range(first, 2):
                if not done:
                    ok, s, c, e = _parts(x[r], xi[r], nt, step, fb, mode == 0, slow)
                    if ok:
                        done, bits = dd_round(s, c, e, p, emask, nbits)
                        if done:
                            out[r] = bits
            if not done:
                _split_exact(x[r], out, r, p, emask, nbits, slow, nt, step)
        return
    for r in nb.prange(m):
        done = False
        for mode in range(first, 2):
            if not done and not here(slow):
                ok, s, c, e = row_cert(x[r], xi[r], 0, k, fb, mode == 0)
                if ok:
                    done, bits = dd_round(s, c, e, p, emask, nbits)
                    if done:
                        out[r] = bits
        if not done:
            exact_row(x[r], 0, k, out, r, p, emask, nbits, slow)


@jit(parallel=True)
def bounded_rows_k(x: Any, xi: Any, res: Any, plain: bool, slow: bool, nt: int, fb: Any) -> None:
    """``res[r]`` = ``(s, c, e, ok)`` of row ``r`` of ``x``: :func:`row_cert`'s double-double and
    error bound (``ok`` 1.0 or 0.0), long rows split between threads (:func:`_parts`); not ok
    where the thread flushes subnormals."""
    m, k = x.shape
    if m < nt and k >= 4 * B * nt:
        step = -(-k // (nt * B)) * B
        for r in range(m):
            ok, s, c, e = _parts(x[r], xi[r], nt, step, fb, plain, slow)
            res[r, 0], res[r, 1], res[r, 2], res[r, 3] = s, c, e, 1.0 if ok else 0.0
        return
    for r in nb.prange(m):
        ok, s, c, e = False, 0.0, 0.0, 0.0
        if not here(slow):
            ok, s, c, e = row_cert(x[r], xi[r], 0, k, fb, plain)
        res[r, 0], res[r, 1], res[r, 2], res[r, 3] = s, c, e, 1.0 if ok else 0.0


@jit
def round_bounded_k(parts: Any, out: Any, sure: Any, p: int, emask: int, nbits: int) -> None:
    """Per row ``r`` of ``parts`` (M, N, 4), N :func:`bounded_rows_k` results: their
    double-doubles added with the bounds, and ``out[r]`` the bits of the sum rounded where
    ``sure[r]``: every value within the bound rounds to them (:func:`dd_round`)."""
    for r in range(parts.shape[0]):
        s, c, e = 0.0, 0.0, 0.0
        ok = True
        for i in range(parts.shape[1]):
            ok = ok and parts[r, i, 3] == 1.0 and abs(s) < _BIG / 8
            if ok:
                s, c, e = dd_add(s, c, e, parts[r, i, 0])
                s, c, e = dd_add(s, c, e, parts[r, i, 1])
                e += parts[r, i, 2]
        done, bits = False, np.int64(0)
        if ok:
            done, bits = dd_round(s, c, e, p, emask, nbits)
        sure[r] = done
        out[r] = bits


@jit(parallel=True)
def _split_acc(row: Any, slow: bool, nt: int, step: int) -> tuple[Any, Any, Any, Any, Any]:
    """The superaccumulator of one long row summed in ``nt`` parts (one accumulator each,
    merged), and :func:`row_sum`'s flags."""
    k = row.shape[0]
    accs = np.zeros((nt, NCHUNK), np.int64)
    flags = np.zeros((nt, 4), np.bool_)
    for t in nb.prange(nt):
        lo = min(k, t * step)
        hi = min(k, lo + step)
        f = row_sum(row, lo, hi, accs[t], slow)
        normalize(accs[t])
        flags[t, 0] = f[0]
        flags[t, 1] = f[1]
        flags[t, 2] = f[2]
        flags[t, 3] = f[3]
    acc = np.zeros(NCHUNK, np.int64)
    for t in range(nt):
        acc += accs[t]
    return acc, flags[:, 0].any(), flags[:, 1].any(), flags[:, 2].any(), flags[:, 3].all()


@jit
def _split_exact(
    row: Any, out: Any, r: int, p: int, emask: int, nbits: int, slow: bool, nt: int, step: int
) -> None:
    """The exact sum of one long row in ``nt`` parts (:func:`_split_acc`), rounded."""
    acc, nan, pinf, ninf, allneg0 = _split_acc(row, slow, nt, step)
    fin(acc, nan, pinf, ninf, allneg0, out, r, p, emask, nbits)


@jit
def emit_expansion(
    acc: Any, nan: bool, pinf: bool, ninf: bool, allneg0: bool, comps: Any, over: Any, r: int
) -> None:
    """``comps[r]`` (prefilled with -0.0) = a float64 expansion of ``acc``'s exact value:
    component ``i`` is the value less the components before it, correctly rounded (so each is
    at most 2**-52 of the one before); NaN or an infinity as the one component where
    :func:`row_sum`'s flags say so, and ``over[r]`` where the value passed float64's range."""
    if nan or (pinf and ninf):
        comps[r, 0] = np.nan
        return
    if pinf or ninf:
        comps[r, 0] = np.inf if pinf else -np.inf
        return
    inf = np.int64(2047) << 52
    for i in range(comps.shape[1]):
        bits, neg, zero = round_acc(acc, 53, 2047)
        if zero:
            if i == 0 and not allneg0:
                comps[r, 0] = 0.0
            return
        if bits == inf:
            over[r] = True
            return
        v = np.int64(bits).view(np.float64)
        v = -v if neg else v
        comps[r, i] = v
        add_double(acc, -v)


@jit(parallel=True)
def expansion_rows_k(x: Any, comps: Any, over: Any, slow: bool, nt: int) -> None:
    """Every row's exact sum as a float64 expansion (:func:`emit_expansion`): one exact pass (the
    superaccumulator of the sum's fallback), long rows split between threads."""
    m, k = x.shape
    if m < nt and k >= 4 * B * nt:
        step = -(-k // (nt * B)) * B
        for r in range(m):
            acc, nan, pinf, ninf, allneg0 = _split_acc(x[r], slow, nt, step)
            emit_expansion(acc, nan, pinf, ninf, allneg0, comps, over, r)
        return
    quick = x.itemsize == 4 and k <= B  # short float32 rows: float64 sums usually exact
    for r in nb.prange(m):
        ok, t = exact_in_float64(x[r]) if quick and not here(slow) else (False, 0.0)
        if ok:
            comps[r, 0] = t
            continue
        acc = np.zeros(NCHUNK, np.int64)
        f = row_sum(x[r], 0, k, acc, slow)
        emit_expansion(acc, f[0], f[1], f[2], f[3], comps, over, r)


@jit
def exact_in_float64(row: Any) -> tuple[bool, float]:
    """``(True, Σ row)`` where adding the row left to right in float64 rounds nothing (every
    TwoSum error is 0: the sum is exact, its zero signed as IEEE addition signs it), as for
    short rows of float32 data; else ``(False, _)`` (also on NaN, infinities, overflow)."""
    s = np.float64(wide(row[0])) if row.shape[0] else -0.0
    bad = 0.0
    for i in range(1, row.shape[0]):
        v = np.float64(wide(row[i]))
        t = s + v
        bb = t - s
        bad += abs((s - (t - bb)) + (v - bb))  # NaN once anything is not finite
        s = t
    return bad == 0.0 and abs(s) < np.inf, s


@jit
def _abits(v: float) -> Any:
    return np.float64(v).view(np.int64) & _ABS


@jit
def col_split(row: Any, j0: int, w: int, sig: Any, t: Any, tau: Any, mx: Any) -> None:
    """For ``v = row[j0 + j]``: ``t[j] += q``, ``tau[j] += r`` (see :func:`split`) and ``mx[j]``
    = max(``mx[j]``, bits of ``|v|`` as a float64); SIMD across ``j``."""
    xs = row[j0 : j0 + w]  # 0-based loops vectorise (no negative-index wraparound)
    one = unit()
    for j in range(w):
        v = np.float64(xs[j])
        q, r = split(v, sig[j], one)
        t[j] += q
        tau[j] += r
        mx[j] = max(mx[j], _abits(v))


@jit(inline="always")
def rows8(x: Any, i: int, j0: int, j1: int) -> Any:
    """Columns ``j0:j1`` of rows ``i .. i+7`` (0-based views: their loops vectorise)."""
    return (
        x[i][j0:j1],
        x[i + 1][j0:j1],
        x[i + 2][j0:j1],
        x[i + 3][j0:j1],
        x[i + 4][j0:j1],
        x[i + 5][j0:j1],
        x[i + 6][j0:j1],
        x[i + 7][j0:j1],
    )


@jit(inline="always")
def vals8(x0: Any, x1: Any, x2: Any, x3: Any, x4: Any, x5: Any, x6: Any, x7: Any, j: int) -> Any:
    """Element ``j`` of each of the eight :func:`rows8` views, widened to float64."""
    return (
        np.float64(x0[j]),
        np.float64(x1[j]),
        np.float64(x2[j]),
        np.float64(x3[j]),
        np.float64(x4[j]),
        np.float64(x5[j]),
        np.float64(x6[j]),
        np.float64(x7[j]),
    )


@jit
def col_split8(x: Any, i: int, j0: int, w: int, sig: Any, t: Any, tau: Any, mx: Any) -> None:
    """:func:`col_split` of rows ``i .. i+7`` at once (one load and store of the state per 8
    values; the ``q`` of one column add exactly in any order, the bound on the ``r`` holds for any
    order)."""
    x0, x1, x2, x3, x4, x5, x6, x7 = rows8(x, i, j0, j0 + w)
    one = unit()
    for j in range(w):
        s = sig[j]
        v0, v1, v2, v3, v4, v5, v6, v7 = vals8(x0, x1, x2, x3, x4, x5, x6, x7, j)
        q0, r0 = split(v0, s, one)
        q1, r1 = split(v1, s, one)
        q2, r2 = split(v2, s, one)
        q3, r3 = split(v3, s, one)
        q4, r4 = split(v4, s, one)
        q5, r5 = split(v5, s, one)
        q6, r6 = split(v6, s, one)
        q7, r7 = split(v7, s, one)
        t[j] += ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
        tau[j] += ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        m0 = max(max(_abits(v0), _abits(v1)), max(_abits(v2), _abits(v3)))
        m1 = max(max(_abits(v4), _abits(v5)), max(_abits(v6), _abits(v7)))
        mx[j] = max(mx[j], max(m0, m1))


@jit
def col_block(x: Any, b0: int, b1: int, j: int, sigma: float) -> tuple[float, float]:
    """``(Σq, Σr)`` of column ``j`` over rows ``b0:b1`` (the scalar redo of one block)."""
    t = 0.0
    tau = 0.0
    one = unit()
    for i in range(b0, b1):
        q, r = split(np.float64(x[i, j]), sigma, one)
        t += q
        tau += r
    return t, tau


@jit
def col_plain8(x: Any, i: int, j0: int, w: int, t: Any, a: Any) -> None:
    """``t[j] += Σv``, ``a[j] += Σ|v|`` over rows ``i .. i+7`` of columns ``j0 .. j0+w`` (the
    sums of :func:`plain_block`, any order; SIMD across ``j``)."""
    x0, x1, x2, x3, x4, x5, x6, x7 = rows8(x, i, j0, j0 + w)
    for j in range(w):
        v0, v1, v2, v3, v4, v5, v6, v7 = vals8(x0, x1, x2, x3, x4, x5, x6, x7, j)
        t[j] += ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))
        a[j] += ((abs(v0) + abs(v1)) + (abs(v2) + abs(v3))) + (
            (abs(v4) + abs(v5)) + (abs(v6) + abs(v7))
        )


@jit
def col_plain(row: Any, j0: int, w: int, t: Any, a: Any) -> None:
    """:func:`col_plain8` of one row."""
    xs = row[j0 : j0 + w]
    for j in range(w):
        v = np.float64(xs[j])
        t[j] += v
        a[j] += abs(v)


@jit
def cols_plain(xs: Any, j0: int, w: int, ss: Any, cc: Any, ee: Any) -> None:
    """:func:`row_plain` of columns ``j0 .. j0+w`` of the float32 blocks ``xs`` (rows of one
    matrix, see :func:`sum_cols_kb`) in one streaming pass."""
    t = np.empty(w)
    a = np.empty(w)
    for x in xs:
        k = x.shape[0]
        for b0 in range(0, k, B):
            b1 = min(k, b0 + B)
            t[:] = 0.0
            a[:] = 0.0
            i = b0
            while i + 8 <= b1:
                col_plain8(x, i, j0, w, t, a)
                i += 8
            while i < b1:
                col_plain(x[i], j0, w, t, a)
                i += 1
            for j in range(w):
                ss[j], cc[j], ee[j] = dd_add(ss[j], cc[j], ee[j], t[j])
                ee[j] += a[j] * 2.0**-43


@jit
def cols_fast(xs: Any, j0: int, w: int, ss: Any, cc: Any, ee: Any, ok: Any) -> None:
    """:func:`row_fast` of columns ``j0 .. j0+w`` of the blocks ``xs`` in one streaming pass:
    per block of at most ``B`` rows each column extracts with the σ of its previous block (the
    first block's from the first 8 rows), measuring the block's maximum as it goes; a column
    whose σ proves too small or much too large redoes that block alone. Maxima are float64 bit
    patterns (values are widened); ``ok[j]`` False where column ``j`` cannot certify (NaN, inf,
    near overflow)."""
    mx = np.zeros(w, np.int64)
    sig = np.empty(w)
    se = np.empty(w, np.int64)
    sn = np.empty(w, np.int64)
    t = np.empty(w)
    tau = np.empty(w)
    seen = 0
    for x in xs:  # the first rows' maxima guess the first σ
        for i in range(min(x.shape[0], 8 - seen)):
            xr = x[i][j0 : j0 + w]
            for j in range(w):
                mx[j] = max(mx[j], _abits(xr[j]))
        seen += min(x.shape[0], 8 - seen)
    for x in xs:
        k = x.shape[0]
        for b0 in range(0, k, B):
            b1 = min(k, b0 + B)
            for j in range(w):
                se[j] = min(max(sigma_exp(mx[j], 52, 1022) + 4, -1022), 1022)  # slack: few redos
                sig[j] = pow2n(se[j])
                t[j] = 0.0
                tau[j] = 0.0
                mx[j] = 0
            i = b0
            while i + 8 <= b1:
                col_split8(x, i, j0, w, sig, t, tau, mx)
                i += 8
            while i < b1:
                col_split(x[i], j0, w, sig, t, tau, mx)
                i += 1
            # Branch-free over the columns (SIMD; per-column work is what costs when K is
            # small), then the rare redo of a block whose σ proved too small or much too large.
            redo = 0
            for j in range(w):
                s = sigma_exp(mx[j], 52, 1022)
                ok[j] = ok[j] and (mx[j] >> 52) < 2047 and s <= 1022
                s = max(s, -1022)
                sn[j] = s
                redo += ok[j] and mx[j] != 0 and (s > se[j] or s < se[j] - 12)
            if redo:
                for j in range(w):
                    if ok[j] and mx[j] != 0 and (sn[j] > se[j] or sn[j] < se[j] - 12):
                        se[j] = sn[j]
                        t[j], tau[j] = col_block(x, b0, b1, j0 + j, pow2n(sn[j]))
            for j in range(w):
                a, b, c = dd_add(ss[j], cc[j], ee[j], t[j])
                a, b, c = dd_add(a, b, c, tau[j])
                nz = mx[j] != 0  # a block of zeros adds nothing (t = tau = 0) and no error
                ss[j] = a
                cc[j] = b
                ee[j] = c + pow2n(se[j] + 43) * 2.0**-128 if nz else ee[j]  # 2**(se - 85)
                ok[j] = ok[j] and abs(a) < _BIG / 8


@jit
def col_one(xs: Any, j: int, out: Any, o: int, p: int, emask: int, nbits: int, slow: bool) -> None:
    """``out[o]`` = bits of the exact sum of column ``j`` of the blocks ``xs`` alone: gathered
    (widened to float64), then :func:`row_fast` and, if that does not certify, the exact path."""
    k = 0
    for x in xs:
        k += x.shape[0]
    col = np.empty(k, np.float64)
    i0 = 0
    for x in xs:
        for i in range(x.shape[0]):
            col[i0 + i] = wide(x[i, j])
        i0 += x.shape[0]
    if not here(slow):
        ok, s, c, e = row_fast(col, col.view(np.int64), 0, k, _ABS, 52, 1022, 2047)
        if ok:
            ok, bits = dd_round(s, c, e, p, emask, nbits)
            if ok:
                out[o] = bits
                return
    exact_row(col, 0, k, out, o, p, emask, nbits, slow)


@jit
def sum_cols_k(x: Any, out: Any, p: int, emask: int, nbits: int, slow: bool, nt: int) -> None:
    """``out[j]`` = bits of the exact sum of column ``j`` of the C-contiguous ``x`` (K, M): the
    one block of :func:`sum_cols_kb`."""
    xs = nb.typed.List()
    xs.append(x)
    sum_cols_kb(xs, 0, out, p, emask, nbits, slow, nt)


@jit(parallel=True)
def sum_cols_kb(
    xs: Any, c0: int, out: Any, p: int, emask: int, nbits: int, slow: bool, nt: int
) -> None:
    """``out[j]`` = bits of the exact sum of column ``c0 + j`` of the rows of the C-contiguous
    blocks ``xs`` (K_b, M_b) together, as of one (sum K_b, M) matrix, read in place (the sum
    is exact: it does not depend on the blocks' order or lengths).

    ``nt`` tiles of columns, each certified in streaming passes over its rows: plain sums
    (:func:`cols_plain`) first for float32 data and results of at most 24 bits, then
    extraction (:func:`cols_fast`) if more than one column in 128 is left (a sum near zero
    does not certify from plain sums: 53 of 10^5 columns of 1000 normal values); the columns
    still left, one by one (:func:`col_one`)."""
    m = out.shape[0]
    wt = -(-m // nt)
    wt = min(max(8, -(-wt // 8) * 8), 4096)
    ntile = -(-m // wt)
    first = 0 if plain_first(p, xs[0].itemsize) else 1  # 0: cols_plain first
    for tl in nb.prange(ntile):
        j0 = tl * wt
        w = min(m, j0 + wt) - j0
        done = np.zeros(w, np.bool_)
        for mode in range(first, 2):
            if here(slow) or (mode == 1 and (w - done.sum()) * 128 <= w):
                break
            ss = np.zeros(w)
            cc = np.zeros(w)
            ee = np.zeros(w)
            ok = np.ones(w, np.bool_)
            if mode == 0:
                cols_plain(xs, c0 + j0, w, ss, cc, ee)
            else:
                cols_fast(xs, c0 + j0, w, ss, cc, ee, ok)
            for j in range(w):
                if ok[j] and not done[j]:
                    done[j], bits = dd_round(ss[j], cc[j], ee[j], p, emask, nbits)
                    if done[j]:
                        out[j0 + j] = bits
        for j in range(w):
            if not done[j]:
                col_one(xs, c0 + j0 + j, out, j0 + j, p, emask, nbits, slow)


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
    if p == 24:
        return np.int64(np.float32(r).view(np.int32)) & 0xFFFFFFFF
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


@jit(inline="always")
def dd_step(s: float, c: float, e: float, v: float) -> tuple[float, float, float]:
    """Add ``v`` to the running double-double ``s + c`` (``|s|, |v| < 2**1023``); ``e`` sums
    the error it drops, exactly tracked: ``e == 0`` means ``s + c`` is the prefix exactly."""
    sn = s + v  # TwoSum (Knuth): s + v = sn + err exactly
    bb = sn - s
    err = (s - (sn - bb)) + (v - bb)
    c2 = c + err  # and again: c + err = c2 + ec exactly
    bb = c2 - c
    ec = (c - (c2 - bb)) + (err - bb)
    return sn, c2, e + abs(ec)


@jit
def round_two(tmp: Any, r0: float, t: float, p: int, emask: int, nbits: int) -> Any:
    """Bits of ``r0 + t`` (finite, exact) rounded to the format, through the superaccumulator
    ``tmp`` (overwritten)."""
    tmp[:] = 0
    add_double(tmp, r0)
    add_double(tmp, t)
    bits, neg, _ = round_acc(tmp, p, emask)
    return (bits | (np.int64(1) << (nbits - 1))) if neg else bits


CB = 256  # elements per block of the cumsum fast path (its buffers stay in L1)


@jit
def cert_block(r: Any, c: Any, e: Any, o: Any, i0: int, m: int, p: int, good: Any) -> int:
    """Round ``r[j] + c[j]`` (a double-double prefix, error at most ``e[j]``) for ``j < m`` into
    ``o[i0 + j]`` and mark in ``good`` which are certified; returns how many are not. Branch-free,
    so LLVM vectorizes it: the one serial chain (the running sum) stays in :func:`cum_fast`.
    Only normal float32 (``p = 24``) and float64 results certify here, as :func:`near_fast`."""
    bad = 0
    if p == 53:
        for j in range(m):
            s = r[j]
            cc = c[j]
            r0 = s + cc
            bb = r0 - s
            t = (s - (r0 - bb)) + (cc - bb)  # s + cc = r0 + t exactly
            yb = np.float64(r0).view(np.int64)
            ab = yb & _ABS
            eb = ab >> 52
            low = np.int64((ab & 0xFFFFFFFFFFFFF) == 0)
            half = np.int64((eb - 53 - low) << 52).view(np.float64)
            ok = (eb > 54) & (eb < 2047) & ((abs(t) + e[j]) * _GUARD < half)
            o[i0 + j] = yb
            good[j] = ok
            bad += int(not ok)
    else:
        for j in range(m):
            s = r[j]
            cc = c[j]
            r0 = s + cc
            bb = r0 - s
            t = (s - (r0 - bb)) + (cc - bb)
            y32 = np.float32(r0)  # round half to even (LLVM fptrunc)
            yb = np.int64(y32.view(np.int32)) & 0xFFFFFFFF
            ab = yb & 0x7FFFFFFF
            eb = ab >> 23
            low = np.int64((ab & 0x7FFFFF) == 0)
            half = np.int64((eb + 872 - low) << 52).view(np.float64)
            gap = (abs(r0 - np.float64(y32)) + abs(t) + e[j]) * _GUARD
            ok = (eb > 1) & (eb < 255) & (abs(r0) < 3.4e38) & (gap < half)
            o[i0 + j] = yb
            good[j] = ok
            bad += int(not ok)
    return bad


@jit
def cum_fast(
    row: Any,
    o: Any,
    i0: int,
    p: int,
    emask: int,
    nbits: int,
    st: Any,
    bufs: Any,
    good: Any,
    tmp: Any,
) -> tuple[int, int]:
    """The certified prefixes of ``row`` from ``i0`` on, a block of :data:`CB` at a time: the
    running double-double (TwoSum twice, its dropped error summed exactly into ``e``) in a serial
    loop, then :func:`cert_block`; an uncertified prefix whose running sum is exact (``e == 0``,
    a tie) is rounded from its two parts exactly. Stops at the first prefix needing the exact
    side (or a value past 2**1023 or not finite): returns its index and how many ties were
    rounded, with ``st = (s, c, e)`` as they were before it."""
    k = row.shape[0]
    maxf = math.ldexp(2.0 - math.ldexp(1.0, 1 - p), emask >> 1) if p != 53 else np.inf
    s, c, e = st[0], st[1], st[2]
    rr, cc, ee = bufs[0], bufs[1], bufs[2]
    i = i0
    ties = 0
    while i < k:
        n = min(CB, k - i)
        m = n
        for j in range(n):
            v = np.float64(row[i + j])
            if not (abs(v) < _BIG and abs(s) < _BIG):
                m = j
                break
            s, c, e = dd_step(s, c, e, v)
            rr[j] = s
            cc[j] = c
            ee[j] = e
        if cert_block(rr, cc, ee, o, i, m, p, good) != 0:
            for j in range(m):
                if good[j]:
                    continue
                r0 = rr[j] + cc[j]
                bb = r0 - rr[j]
                t = (rr[j] - (r0 - bb)) + (cc[j] - bb)
                if abs(r0) < _BIG:  # subnormal or 16-bit results: rounded the slow way
                    y, half = near(r0, p, emask)
                    if (
                        y != 0.0
                        and abs(y) <= maxf
                        and (abs(r0 - y) + abs(t) + ee[j]) * _GUARD < half
                    ):
                        o[i + j] = to_bits(y, p, emask, nbits)
                        continue
                if ee[j] == 0.0 and r0 != 0.0 and abs(r0) < _BIG:
                    # The prefix is exactly r0 + t (a tie, or close to one): round those two.
                    o[i + j] = round_two(tmp, r0, t, p, emask, nbits)
                    ties += 1
                    continue
                if j > 0:
                    st[0], st[1], st[2] = rr[j - 1], cc[j - 1], ee[j - 1]
                return i + j, ties
        i += m
        st[0], st[1], st[2] = s, c, e
        if m < n:
            return i, ties
    return i, ties


@jit
def cumsum_row(row: Any, o: Any, p: int, emask: int, nbits: int, slow: bool) -> int:
    """``o[i]`` = bits of the exact prefix sum ``row[:i+1]``, rounded; returns how many prefixes
    took the exact path.

    Fast path: a double-double running sum (TwoSum) with a bound ``e`` on its error certifies
    most prefixes (:func:`near`). Otherwise the elements since the last exact point go into the
    superaccumulator, the prefix is rounded from it exactly, and the running sum restarts from it.
    NaN, infinities and the sign of zero are handled on the exact side only."""
    k = row.shape[0]
    slow = here(slow)
    sgn = np.int64(1) << (nbits - 1)
    inf = np.int64(emask) << (p - 1)
    nanbits = inf | (np.int64(1) << (p - 2))
    bias = emask >> 1
    maxf = math.ldexp(2.0 - math.ldexp(1.0, 1 - p), bias) if p != 53 else np.inf
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
    neg0 = 0  # row[:neg0] are all -0.0 (checked lazily, on the exact side)
    nexact = 0
    buf = np.empty(B, np.float64)
    tmp = np.zeros(NCHUNK, np.int64)
    st = np.zeros(3, np.float64)
    bufs = np.empty((3, CB), np.float64)
    good = np.empty(CB, np.bool_)
    fast = p == 24 or p == 53
    i = 0
    while i < k:
        if fast and valid:
            st[0], st[1], st[2] = s, c, e
            i, ties = cum_fast(row, o, i, p, emask, nbits, st, bufs, good, tmp)
            s, c, e = st[0], st[1], st[2]
            nexact += ties
            if i >= k:
                break
        v = np.float64(row[i])
        ii = i
        i += 1
        if valid and abs(v) < _BIG and abs(s) < _BIG:
            s, c, e = dd_step(s, c, e, v)
            r0 = s + c
            bb = r0 - s
            t = (s - (r0 - bb)) + (c - bb)  # s + c = r0 + t exactly
            ok, y, half = near_fast(r0, p)
            if not ok and abs(r0) < _BIG:
                y, half = near(r0, p, emask)
                ok = y != 0.0 and abs(y) <= maxf
            if ok and (abs(r0 - y) + abs(t) + e) * _GUARD < half:
                o[ii] = to_bits(y, p, emask, nbits)
                continue
            if e == 0.0 and r0 != 0.0 and abs(r0) < _BIG:
                # The prefix is exactly r0 + t (a tie, or close to one): round those two
                # exactly, with no catch-up and no restart.
                o[ii] = round_two(tmp, r0, t, p, emask, nbits)
                nexact += 1
                continue
        nan, pinf, ninf = classify(v, nan, pinf, ninf)
        if nan or pinf or ninf:
            valid = False
            if nan or (pinf and ninf):
                o[ii] = nanbits
            elif pinf:
                o[ii] = inf
            else:
                o[ii] = inf | sgn
            continue
        nexact += 1
        while neg0 <= ii and np.float64(wide(row[neg0])).view(np.int64) == _NEG0:
            neg0 += 1
        allneg0 = neg0 > ii
        # Exact: bring acc up to date, round it, and resynchronise s + c with it.
        j = synced
        while ii + 1 - j >= 64:  # catch up a block at a time (finite values: see above)
            j1 = min(ii + 1, j + B)
            block_extract(row, j, j1, acc, buf)
            j = j1
        for jj in range(j, ii + 1):
            add_double(acc, wide(row[jj]))
        pending += ii + 1 - synced
        synced = ii + 1
        if pending > (1 << 26):
            normalize(acc)
            pending = 0
        bits, neg, zero = round_acc(acc, p, emask)
        if zero:
            o[ii] = sgn if allneg0 else 0
        else:
            o[ii] = (bits | sgn) if neg else bits
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
        if not zc:
            c = np.int64(bc).view(np.float64)
            if nc:
                c = -c
            add_double(acc, -c)
            zr = round_acc(acc, 53, 2047)[2]  # whether s + c is the prefix exactly
            add_double(acc, c)
            e = 0.0 if zr else abs(c) * _U
        add_double(acc, s)
    return nexact


@jit(parallel=True)
def cumsum_rows_k(x: Any, out: Any, p: int, emask: int, nbits: int, slow: bool) -> None:
    """``out[r, i]`` = bits of the exact prefix sum ``x[r, :i+1]``, rounded (x C-contiguous)."""
    for r in nb.prange(x.shape[0]):
        cumsum_row(x[r], out[r], p, emask, nbits, slow)
