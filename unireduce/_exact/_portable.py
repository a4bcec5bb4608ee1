"""Exact sums from a framework's own integer array operations (any device, traced or not).

The algorithm, once for every backend:

1. bitcast the floats to integers and take sign, exponent and significand apart with integer ops
   (so a device that flushes subnormals still sees them);
2. cut every significand into ``w``-bit digits on a grid of windows hanging from each output's
   largest exponent (window ``j`` holds bits ``[top - w(j+1), top - wj)``), one array op per window;
3. add each window's digits with the framework's ordinary integer sum (or cumsum): integer
   addition is associative, so the result does not depend on order, device or chunking;
4. propagate carries, take the magnitude, and round half to even to the output format with
   integer ops (significand, round bit and sticky bit are read off the digits);
5. bitcast back; NaN, infinities and the sign of an exact zero follow IEEE 754 addition.

Lanes are int64 with 32-bit digits where the device has int64, else int32 with 16-bit digits
(JAX with x64 off), with carries split off every ``Lanes.block`` additions.

>>> import numpy as np
>>> from unireduce._registry import backend_of
>>> x = np.array([1e300, 1.0, -1e300, 2.0**-1074])
>>> float(sum_rows(backend_of(x), x.reshape(1, -1), "float64", False)[0])
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unireduce._backend import Backend, NativeDType
from unireduce._dtypes import COMPLEX, COMPLEX_COMPONENT, REAL_FLOAT
from unireduce._errors import IntegerOverflowError, UnireduceValueError

from ._formats import FORMATS, Fmt, Lanes, lanes_for

__all__ = ["fast_ok", "int_rows_fit", "quick_ok", "sum_rows"]

Array = Any


# ---------------------------------------------------------------------------------- helpers
def _concrete_int(be: Backend, v: Array) -> int | None:
    """The value of a 0-d integer array, or ``None`` while tracing (no host round trip then)."""
    if be.is_traced(v):
        return None
    return int(be.to_python(v))


def _pad_last(be: Backend, a: Array, r: int) -> Array:
    """``a`` (…, K) with ``r <= K`` zeros appended along the last axis."""
    if r == 0:
        return a
    return be.concat([a, a[..., :r] * 0], -1)


def _shift(be: Backend, v: Array, e: Array, lanes: Lanes) -> Array:
    """``floor(v * 2**e)`` for ``v >= 0``; callers guarantee the result fits a lane."""
    right = be.clip(-e, 0, lanes.bits - 1)
    left = be.clip(e, 0, lanes.bits - 2)
    return be.shift_left(be.shift_right(v, right), left)


def _bitlen(be: Backend, v: Array, lanes: Lanes) -> Array:
    """Bit length of ``v >= 0`` (0 for 0), by binary search."""
    n = v * 0
    s = lanes.bits // 2
    while s >= 1:
        t = be.shift_right(v, s)
        n = n + be.clip(t, 0, 1) * s
        v = be.where(t != 0, t, v)
        s //= 2
    return n + v


def _normalize(be: Backend, cols: list[Array | None], lanes: Lanes) -> list[Array]:
    """Carry-propagate so every column but the first lies in ``[0, 2**w)``; the first is signed."""
    out = list(cols)
    for c in range(len(out) - 1, 0, -1):
        v = out[c]
        if v is None:
            continue
        carry = be.shift_right(v, lanes.w)
        out[c] = be.bitwise_and(v, lanes.mask)
        prev = out[c - 1]
        out[c - 1] = carry if prev is None else prev + carry
    zero = next(v for v in out if v is not None) * 0
    return [zero if v is None else v for v in out]


# ---------------------------------------------------------------------------------- digit sums
def _check_blocks(nb: int, lanes: Lanes, k_len: int) -> None:
    """Refuse rows whose ``nb`` lane blocks of block sums could overflow a lane."""
    if nb > lanes.block // 2:
        raise UnireduceValueError(
            f"sum: exact mode in {lanes.name} lanes sums at most {lanes.block**2 // 2} elements "
            f"per output, got {k_len}"
        )


def _window_sums(
    be: Backend, d: Array, lanes: Lanes, cumulative: bool, k_len: int
) -> tuple[Array, Array | None]:
    """Sums (or prefix sums) over the last axis of digits ``d`` (M, K) as ``lo + hi * 2**w``."""
    lane = be.native_dtype(lanes.name)
    m = d.shape[0]
    if not cumulative:
        if k_len <= lanes.block:
            return be.sum(d, (1,), False, lane), None
        b = lanes.block
        nb = -(-k_len // b)
        _check_blocks(nb, lanes, k_len)
        s = be.sum(be.reshape(_pad_last(be, d, nb * b - k_len), (m, nb, b)), (2,), False, lane)
        lo = be.sum(be.bitwise_and(s, lanes.mask), (1,), False, lane)
        hi = be.sum(be.shift_right(s, lanes.w), (1,), False, lane)
        return lo, hi
    if k_len <= lanes.block:
        return be.cumsum(d, 1, lane), None
    b = lanes.block // 4
    nb = -(-k_len // b)
    if nb > lanes.block:
        raise UnireduceValueError(
            f"cumsum: exact mode in {lanes.name} lanes accumulates at most {b * lanes.block} "
            f"elements, got {k_len}"
        )
    c = be.cumsum(be.reshape(_pad_last(be, d, nb * b - k_len), (m, nb, b)), 2, lane)
    t = c[:, :, -1]
    lo = be.bitwise_and(t, lanes.mask)
    hi = be.shift_right(t, lanes.w)
    exlo = be.cumsum(lo, 1, lane) - lo
    exhi = be.cumsum(hi, 1, lane) - hi
    lo_full = be.reshape(c + be.reshape(exlo, (m, nb, 1)), (m, nb * b))[:, :k_len]
    hi_full = be.reshape(be.reshape(exhi, (m, nb, 1)) + c * 0, (m, nb * b))[:, :k_len]
    return lo_full, hi_full


def _window_sums_fused(
    be: Backend, ds: list[Array], lanes: Lanes, k_len: int
) -> list[tuple[Array, Array | None]]:
    """:func:`_window_sums` (not cumulative) of every digit array of ``ds`` (M, K) at once, by
    :meth:`Backend.sums`; ``K`` is at most ``lanes.block`` or a multiple of it (the rows padded
    from ``k_len`` values)."""
    lane = be.native_dtype(lanes.name)
    m, kp, b = ds[0].shape[0], int(ds[0].shape[1]), lanes.block
    if kp <= b:
        return [(s, None) for s in be.sums(ds, (1,), lane)]
    nb = kp // b
    _check_blocks(nb, lanes, k_len)
    blocks = be.sums([be.reshape(d, (m, nb, b)) for d in ds], (2,), lane)
    lo = be.sums([be.bitwise_and(s, lanes.mask) for s in blocks], (1,), lane)
    hi = be.sums([be.shift_right(s, lanes.w) for s in blocks], (1,), lane)
    return list(zip(lo, hi, strict=True))


# ---------------------------------------------------------------------------------- floats
def _float_rows_exact(be: Backend, x2: Array, fmt: Fmt, cumulative: bool) -> Array:
    """Exact row sums (M,) or row prefix sums (M, K) of the real float array ``x2`` (M, K)."""
    lanes = lanes_for(be.work_dtypes(x2))
    lane = be.native_dtype(lanes.name)
    i32 = be.native_dtype("int32")
    m, k_len = int(x2.shape[0]), int(x2.shape[1])
    p = fmt.p
    u = be.bitcast(x2, be.native_dtype(f"int{fmt.nbits}"))
    if fmt.nbits != lanes.bits:
        u = be.astype(u, lane)  # sign-extending: the storage sign bit becomes the lane's sign
    neg = u < 0
    eb = be.bitwise_and(be.shift_right(u, p - 1), fmt.emask)
    mant = be.bitwise_and(u, (1 << (p - 1)) - 1)
    special = eb == fmt.emask
    hidden = be.shift_left(be.clip(eb, 0, 1), p - 1)
    sig = be.where(special, 0, mant + hidden)
    k = be.clip(eb, 1, fmt.kmax + 1) - 1
    nan = special & (mant != 0)
    inf = special & (mant == 0)
    pinf = inf & ~neg
    ninf = inf & neg
    nonzero = sig != 0
    notnegzero = ~(neg & (eb == 0) & (mant == 0))

    def flag(f: Array) -> Array:
        fi = be.astype(f, i32)
        if cumulative:
            return be.cumsum(fi, 1, i32) > 0
        return be.sum(fi, (1,), False, i32) > 0

    any_nan, any_pinf, any_ninf = flag(nan), flag(pinf), flag(ninf)
    not_all_negzero = flag(notnegzero)

    kmax_row = be.max(be.where(nonzero, k, 0), (1,), True)
    top = kmax_row + p  # bits of every element lie below ``top`` (k units)
    kmin_row = -be.max(be.where(nonzero, -k, -(fmt.kmax + 1)), (1,), True)
    static_g = -(-(fmt.kmax + p) // lanes.w)
    need_arr = be.max(top - kmin_row, None, False)
    need = _concrete_int(be, need_arr)
    g = static_g if need is None else max(1, min(static_g, -(-need // lanes.w)))

    # One variadic reduction for every window's digits where the backend has one: XLA CPU
    # turned each window's long integer sum into reduce-windows that do not fuse the digits'
    # computation, and computed all of them before any sum (jax.jit, float64: 66 int64 arrays
    # alive at once, 53 GB of temporaries at 10**8 elements; issue 5). Elsewhere one window at a
    # time, so an eager backend holds one digit array at once.
    fused = not cumulative and be.fused_reductions()
    if fused and k_len > lanes.block:  # whole blocks, padded once for all windows
        r = -k_len % lanes.block
        sig, k = _pad_last(be, sig, r), _pad_last(be, k, r)  # zero significands add nothing
        neg = be.concat([neg, neg[:, :r] & False], 1) if r else neg
    mask_arr = sig * 0 + lanes.mask
    zero = sig * 0 if cumulative else be.reshape(kmax_row * 0, (m,))

    def digits(j: Any) -> Array:
        base = top - lanes.w * (j + 1)
        dd = k - base
        left = be.clip(dd, 0, lanes.w)
        right = be.clip(-dd, 0, lanes.bits - 1)
        digit = be.shift_left(
            be.bitwise_and(be.shift_right(sig, right), be.shift_right(mask_arr, left)), left
        )
        return be.where(neg, -digit, digit)

    # Columns: ``head`` has weight 2**top, ``tail[j]`` 2**(top - w(j+1)); window j's sums land
    # in tail[j] (``lo``) and one column up (``hi``). The loops over columns go through
    # Backend.scan, which a compiler with loops traces once.
    tail: Any
    if fused:
        sums = _window_sums_fused(be, [digits(j) for j in range(g)], lanes, k_len)
        his = [hi for _, hi in sums[1:]] + [None]
        tail = [lo if hi is None else lo + hi for (lo, _), hi in zip(sums, his, strict=True)]
        head = zero if sums[0][1] is None else sums[0][1]
    else:
        # Traced, g is the static window count; a rolled loop (j traced) skips at run time the
        # windows below every row's lowest bit (their digits are zero).
        w_log = lanes.w.bit_length() - 1
        gneed = be.shift_right(need_arr + (lanes.w - 1), w_log) if need is None else None

        def window(j: Any) -> tuple[Array, Array]:
            lo, hi = _window_sums(be, digits(j), lanes, cumulative, k_len)
            return lo, zero if hi is None else hi

        def window_step(below: Array, j: Any, _: tuple[Any, ...]) -> tuple[Array, tuple[Array]]:
            if gneed is not None and not isinstance(j, int):
                lo, hi = be.cond(j >= gneed, lambda: (zero, zero), lambda: window(j))
            else:
                lo, hi = window(j)
            return hi, (lo + below,)

        head, (tail,) = be.scan(window_step, zero, (), g, reverse=True)

    def carry_step(t: Array, j: Any, x: tuple[Any, ...]) -> tuple[Array, tuple[Array]]:
        v = x[0] + t
        return be.shift_right(v, lanes.w), (be.bitwise_and(v, lanes.mask),)

    t, (tail,) = be.scan(carry_step, zero, (tail,), g, reverse=True)
    head = head + t
    negative = head < 0

    def magnitude_step(t: Array, j: Any, x: tuple[Any, ...]) -> tuple[Array, tuple[Array]]:
        v = be.where(negative, -x[0], x[0]) + t
        return be.shift_right(v, lanes.w), (be.bitwise_and(v, lanes.mask),)

    t, (tail,) = be.scan(magnitude_step, zero, (tail,), g, reverse=True)
    head = be.where(negative, -head, head) + t
    if not cumulative:
        top = be.reshape(top, (m,))

    # Top nonzero digit and its base.
    def top_step(c: tuple[Array, Array], j: Any, x: tuple[Any, ...]) -> tuple[Any, tuple[()]]:
        nz = x[0] != 0
        return (be.where(nz, x[0], c[0]), be.where(nz, top - lanes.w * (j + 1) + zero, c[1])), ()

    (dtop, btop), _ = be.scan(top_step, (zero, top - lanes.w * g + zero), (tail,), g, True)
    nz = head != 0
    dtop = be.where(nz, head, dtop)
    btop = be.where(nz, top + zero, btop)
    zero_sum = dtop == 0
    lead = btop + _bitlen(be, dtop, lanes) - 1
    # Past the finite range the result is inf; clipping q keeps the lanes from overflowing.
    ovf = lead - (p - 1) >= fmt.emask - 1
    q = be.clip(lead - (p - 1), 0, fmt.emask - 1)

    def terms(col: Array, base_c: Array) -> tuple[Array, Array, Array]:
        e = base_c - q
        n = be.clip(q - 1 - base_c, 0, lanes.bits - 2)
        sticky = (col - be.shift_left(be.shift_right(col, n), n)) != 0
        return _shift(be, col, e, lanes), _shift(be, col, e + 1, lanes), sticky

    def round_step(c: tuple[Array, ...], j: Any, x: tuple[Any, ...]) -> tuple[Any, tuple[()]]:
        a, b, st = terms(x[0], top - lanes.w * (j + 1))
        return (c[0] + a, c[1] + b, c[2] | st), ()

    (s0, s1, sticky), _ = be.scan(round_step, terms(head, top), (tail,), g)
    rbit = be.bitwise_and(s1, 1)
    odd = be.bitwise_and(s0, 1)
    inc = rbit * be.where(sticky, 1, odd)
    bits = be.shift_left(q, p - 1) + s0 + inc
    bits = be.where(ovf, fmt.inf_bits, be.clip(bits, 0, fmt.inf_bits))
    bits = be.where(zero_sum, 0, bits)
    sgn = -(1 << (fmt.nbits - 1))
    signed = negative | (zero_sum & ~not_all_negzero)
    out = be.where(signed, bits + sgn, bits)
    out = be.where(any_pinf, fmt.inf_bits, out)
    out = be.where(any_ninf, fmt.inf_bits + sgn, out)
    out = be.where(any_nan | (any_pinf & any_ninf), fmt.nan_bits, out)
    if fmt.nbits != lanes.bits:
        out = be.astype(out, be.native_dtype(f"int{fmt.nbits}"))
    return be.bitcast(out, be.native_dtype(fmt.name))


# ---------------------------------------------------------------------------------- fast path
# Sums (cumulative=False) first try error-free extraction (Rump, Ogita & Oishi, "Accurate
# floating-point summation part I", SIAM J. Sci. Comput. 31(1), 2008: ExtractVector) in the
# framework's float arithmetic, a few fused passes instead of one per digit window, and keep the
# result only when a certificate proves it is the exactly rounded sum; otherwise the integer
# algorithm above runs (issue 5: the portable path was 63-776x native sum under a JIT, which must
# use every window).
#
# Work format: float64 where the backend has it, else float32 (JAX with x64 off); narrower data is
# widened exactly. Notation: p precision, eps = 2**-p, "field" the biased exponent.
#
# Extraction of a block of n <= B values a_i with sigma = 2**h * 2**(E+1), E = floor(log2 max|a|),
# 2**h >= B + 2: q_i = fl(fl(a_i + sigma) - sigma) is exact and a multiple of eps*sigma, so
# r_i = a_i - q_i is exact with |r_i| <= eps*sigma, and every partial sum of the q_i in ANY order
# is a multiple of eps*sigma below n*(2**-h + eps)*sigma <= sigma: T = sum(q) is exact whatever
# order the framework adds in. R = fl-sum(r) in any order errs by at most
# gamma_{n-1} * sum|r_i| <= (B*eps) * (B*eps*sigma) = 2**(2*lb - 2p) * sigma  (2**lb >= B;
# gamma_{n-1} = (n-1)eps/(1-(n-1)eps) < B*eps because B*B*eps < 1).
# float64 work: B = 1024, h = 11, lb = 10: one extraction, bound 2**-86 * sigma per block.
# float32 work: one extraction would leave 2**(2lb - 2p) * sigma per block, too coarse against a
# float32 half ulp once thousands of blocks add up, so the tail is extracted again with
# sigma2 = 2**h * ulp(sigma) >= 2**h * max|r| (T2 exact as above) and the bound becomes
# 2**(2lb - 2p) * sigma2 = 2**(2lb + h + 1 - 3p) * sigma; B = 32 (h = 6, lb = 5) gives 2**-55 *
# sigma, about 2**-48 * max|a| per block (B = 64 left rows with cancelling sums uncertified).
# A level turns (M, L) values into (M, c * ceil(L / B)) block sums (c outputs a block) with the same
# exact total up to sum(bounds) <= nb * max(bound): levels repeat until one block per row is left.
# All bounds are kept as integer exponents: Delta <= 2**(max exponent + ceil(log2 #terms)).
#
# Three tries, chosen with Backend.cond (one branch runs; under a JIT a conditional): the
# float-only _quick_rows (no integer pass over the data, flushes bounded instead of excluded),
# then _fast_rows (bit-level checks, tracks exactness so exact ties round to even: a sum of few
# values is often exactly half-way), then the integer algorithm above.
#
# Certificate: y = fl(T + R) and TwoSum's e give T + R = y + e exactly, so the exact sum is
# V = y + e + err, |err| <= Delta. With y_out = y rounded to the output format, V rounds to y_out if
# |y - y_out| + |e| + Delta < dist, the distance from y_out to the nearest rounding boundary: half
# an ulp of y_out, a quarter when y_out's significand is a power of two (the gap below is half
# as large). The left side is evaluated as c = fl(fl(|y - y_out| + |e|) + Delta) and compared
# with dist * (1 - 8*eps): two roundings inflate by at most (1 + eps)**2.
#
# No subnormal may arise anywhere (TF and XLA flush them on CPU): nonzero |x| >= 2**(emin + p), so
# every value computed is a multiple of 2**(emin + 1); the result and dist must be normal too.
# NaN, infinities, overflowing sigma and tiny results all fall back to the exact path.


@dataclass(frozen=True)
class _Work:
    """Work format of the fast path and its block parameters (``2**h >= block + 2``)."""

    fmt: Fmt
    levels: int  # extractions per block
    block: int
    h: int
    lb: int  # 2**lb >= block

    @property
    def bias(self) -> int:
        return self.fmt.bias


_WORK = {
    "float64": _Work(FORMATS["float64"], 1, 1024, 11, 10),
    "float32": _Work(FORMATS["float32"], 2, 32, 6, 5),
}


def _field(be: Backend, v: Array, wf: Fmt) -> Array:
    """Biased exponent field of the floats ``v`` of format ``wf``, as ``int{nbits}``."""
    bits = be.bitcast(v, be.native_dtype(f"int{wf.nbits}"))
    return be.bitwise_and(be.shift_right(bits, wf.p - 1), wf.emask)


def _pow2(be: Backend, field: Array, wf: Fmt) -> Array:
    """The float ``2**(field - bias)`` of format ``wf`` (``field`` clipped to the normal range)."""
    f = be.clip(field, 1, wf.emask - 1)
    return be.bitcast(be.shift_left(f, wf.p - 1), be.native_dtype(wf.name))


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """Knuth's TwoSum: ``s = fl(a + b)`` and ``e`` with ``a + b == s + e`` exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _extract(be: Backend, blk: Array, wk: _Work) -> tuple[list[Array], Array, Array, Array]:
    """Blocks ``blk`` (M, n, B): block sums ``[T, R]`` or ``[T1, T2, R]`` (M, n) each, the sigma
    field (M, n), the field of the sigma whose tail ``R`` sums (M, n), and that field minus the
    smallest nonzero field in the block (M, n): ``R`` is exact when it is ``<= p + 1 - lb``."""
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    m, n = int(blk.shape[0]), int(blk.shape[1])
    fld = _field(be, blk, wf)
    fb = be.max(fld, (2,), True)  # field of max|a| (fields are monotone in |a|)
    fmin = -be.max(-be.where(fld == 0, wf.emask, fld), (2,), True)
    # Blocks of zeros or tiny values get the sigma of 2**(emin + p): still an upper bound.
    fs = be.clip(fb, wf.p + 1, wf.emask) + (1 + wk.h)
    sig = _pow2(be, fs, wf)
    q = (blk + sig) - sig
    r = blk - q
    sums = [be.sum(q, (2,), False, wdt)]
    last = fs
    if wk.levels == 2:
        last = fs - (wf.p - 1 - wk.h)  # sigma2 = 2**h * ulp(sigma)
        sig2 = _pow2(be, last, wf)
        q2 = (r + sig2) - sig2
        r = r - q2
        sums.append(be.sum(q2, (2,), False, wdt))
    sums.append(be.sum(r, (2,), False, wdt))
    # Every r is a multiple of rho = ulp(smallest nonzero |a|) and sum|r| <= B * eps * sigma_last:
    # all partial sums are exact when B * eps * sigma_last <= 2**p * rho.
    spread = last - fmin
    return sums, *(be.reshape(v, (m, n)) for v in (fs, last, spread))


def _level(be: Backend, a: Array, wk: _Work) -> tuple[list[Array], Array, Array, Array]:
    """One extraction level over the rows of ``a`` (M, L): the block sums (M, nb) each, the
    exponent of a bound on the error (M,), whether every sigma stayed finite (M,) and whether the
    level was exact (M,)."""
    wf = wk.fmt
    m, k_len = int(a.shape[0]), int(a.shape[1])
    b = min(wk.block, k_len)
    nf, rem = k_len // b, k_len % b  # not divmod: Dynamo cannot trace it (torch 2.13)
    parts = [be.reshape(a[:, : nf * b] if rem else a, (m, nf, b))]
    if rem:  # the short last block, padded with zeros (a slice of ``a`` times 0: b - rem < L)
        tail = be.concat([a[:, nf * b :], a[:, : b - rem] * 0.0], 1)
        parts.append(be.reshape(tail, (m, 1, b)))
    res = [_extract(be, blk, wk) for blk in parts]

    def join(v: list[Array]) -> Array:
        return v[0] if len(v) == 1 else be.concat(v, 1)

    sums = [join([x[0][j] for x in res]) for j in range(len(res[0][0]))]
    fs_max = be.max(join([x[1] for x in res]), (1,), False)
    last_max = be.max(join([x[2] for x in res]), (1,), False)
    spread = be.max(join([x[3] for x in res]), (1,), False)
    nb = nf + (1 if rem else 0)
    bound = last_max + (2 * wk.lb - 2 * wf.p - wk.bias + (nb - 1).bit_length())
    return sums, bound, fs_max <= wf.emask - 2, spread <= wf.p + 1 - wk.lb


def _fast_rows(be: Backend, x2: Array, fmt: Fmt) -> tuple[Array, Array]:
    """Row sums (M,) of ``x2`` (M, K) rounded to ``fmt`` and whether each is certified (M,)."""
    wk = _WORK["float64" if "float64" in be.work_dtypes(x2) else "float32"]
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    i32, i8 = be.native_dtype("int32"), be.native_dtype("int8")
    oint = be.native_dtype(f"int{fmt.nbits}")
    olane = i32 if fmt.nbits == 16 else oint
    m = int(x2.shape[0])
    emin = wf.emin
    bias_in = fmt.bias

    # Validity from the input's own bits (a flushing cast could hide a subnormal): per row 4 if any
    # NaN, inf or nonzero |x| < 2**(emin + p); else 3 if any nonzero, 1 if only zeros and some +0,
    # 0 if all -0. Input subnormals that are normal in the work format (float16; float32 and
    # bfloat16 in float64) are rebuilt from their integer significand, which no cast flushes.
    u = be.astype(be.bitcast(x2, oint), olane)
    absb = be.bitwise_and(u, (1 << (fmt.nbits - 1)) - 1)
    sub_ok = fmt.name != wf.name and fmt.qmin >= emin + wf.p
    thr = 1 if sub_ok else max(1, emin + wf.p + bias_in) << (fmt.p - 1)
    # Each level's values stay below its sigma, and sigma grows by at most 2**(h + 1) a level: with
    # |x| < 2**(emax - 3 - levels * (h + 1)) every sigma is at most 2**(emax - 2) and nothing
    # overflows (larger data takes the exact path).
    k_len, levels = int(x2.shape[1]), 1
    while k_len > wk.block:
        k_len, levels = (wk.levels + 1) * -(-k_len // wk.block), levels + 1
    big = (1 << wf.ebits) - 4 - levels * (wk.h + 1) - wk.bias + bias_in  # input field
    big_bits = min(fmt.inf_bits, max(1, big) << (fmt.p - 1))
    bad = ((absb != 0) & (absb < thr)) | (absb >= big_bits)
    # int8 flags (see _all)
    kind = be.astype(absb != 0, i8) * 2 + be.astype(u != -(1 << (fmt.nbits - 1)), i8)
    rowflag = be.max(be.where(bad, 4, kind), (1,), False)
    row_ok = rowflag != 4

    a = x2 if fmt.name == wf.name else be.astype(x2, wdt)
    if sub_ok:
        sub = be.astype(be.where(u < 0, -absb, absb), wdt) * 2.0**fmt.qmin
        a = be.where(absb < (1 << (fmt.p - 1)), sub, a)
    a = be.where(bad, 0, a)  # keeps NaN, inf and overflow out of rows that fall back anyway
    bounds: list[Array] = []
    exact = None
    while True:
        sums, bound, sig_ok, ex = _level(be, a, wk)
        bounds.append(bound)
        row_ok = row_ok & sig_ok
        exact = ex if exact is None else exact & ex
        if int(sums[0].shape[1]) == 1:
            break
        a = be.concat(sums, 1)
    vals = [be.reshape(v, (m,)) for v in sums]
    if len(vals) == 3:
        t, e1 = _two_sum(vals[0], vals[1])
        r, rerr = _two_sum(e1, vals[2])
        bounds.append(_field(be, r, wf) + (1 - wf.p - wk.bias))  # |rerr| <= ulp(r) / 2
        exact = exact & (rerr == 0)
    else:
        t, r = vals
    # The exact sum is V = y + e + err with |err| <= Delta, and err = 0 where ``exact``.
    y, e = _two_sum(t, r)
    dexp = bounds[0]
    for bd in bounds[1:]:
        dexp = be.where(bd > dexp, bd, dexp)
    delta = _pow2(be, dexp + (wk.bias + (len(bounds) - 1).bit_length()), wf)

    yo, cert = _certify(be, y, e, delta, fmt, wf, exact=exact)
    # Exactly zero sums: -0 if every input is -0, else +0 (IEEE 754 addition).
    zero_res = (rowflag <= 1) | (exact & (y == 0))
    ok = row_ok & (zero_res | cert)
    zbits = be.astype(rowflag == 0, olane) * -(1 << (fmt.nbits - 1))
    zero = be.bitcast(be.astype(zbits, oint), be.native_dtype(fmt.name))
    return be.where(zero_res, zero, yo), ok


def _sanitize(be: Backend, a: Array, wf: Fmt, growth: int) -> tuple[Array, Array | None]:
    """``a`` (M, K) and ``None`` where float operations are silent; else ``a`` with the rows
    holding NaN, inf or values above ``2**(bias - 3 - growth)`` (whose sigmas could overflow)
    zeroed, and which rows were kept (M,), for the certificate to refuse the others.

    Where invalid operations warn (NumPy) they must not happen. Elsewhere NaN, inf and overflow
    propagate to y, e or Delta and fail the certificate; a pass over the data to refuse them first
    (and a select feeding the block reshape, which XLA CPU fuses 3-5x slower) would cost more
    than the sum. A max that drops NaN only lets the NaN reach y, which the certificate refuses.
    """
    if be.float_errors_silent:
        return a, None
    limit = 2.0 ** (wf.bias - 3 - growth)
    row_valid = be.max(abs(a), (1,), False) <= limit
    return be.where(be.reshape(row_valid, (int(a.shape[0]), 1)), a, 0), row_valid


def _split_len(be: Backend, m: int, k_len: int) -> int:
    """The block length ``L`` of :func:`_split_sums` for ``m`` rows of ``k_len`` values, 0 for
    none: for one row under XLA, a power of two near sqrt(K), at least 1024, at most K / 4.

    XLA CPU runs the variadic sum of a single long row (a full reduction) as a scalar loop; as
    sums over blocks and then over the block sums it ran 1.5-3x faster (jax 0.10, one thread,
    one process: the whole exact sum of 10**7 float32 values 6.7-7.0 ms instead of 10.7, of
    10**8 60-63 instead of 157). Two rows or more are reduced fast already (2-1000 rows of 10**7
    values in all: the same or slower split). The tail's error bound then counts ``L + K/L + 1``
    additions instead of ``K - 1`` (float64 data at 10**8: two extraction levels instead of
    three). L from 4096 to 32768 timed alike; 1024 needed one level more at 10**8.

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> _split_len(backend_of(np.zeros(1)), 1, 10**7)
    0
    """
    big = 1 << max(10, (max(k_len - 1, 1).bit_length() + 1) // 2)
    return big if be.fused_reductions() and m == 1 and k_len >= 4 * big else 0


def _split_sums(be: Backend, xs: list[Array], wdt: NativeDType) -> list[Array]:
    """Sums over the last axis of the same-shaped arrays ``xs``, by one variadic reduction; of
    a row (1, K) with a :func:`_split_len`, by one per level: over blocks of ``L`` values (the
    last ``K mod L`` apart), a barrier, then over the block sums. The barrier keeps a compiler
    from merging the levels into one reduction, whose error the bound of :func:`_row_terms`
    would not cover."""
    shape = [int(n) for n in xs[0].shape]
    big = _split_len(be, *shape) if len(shape) == 2 else 0
    if not big:
        return be.sums(xs, (len(shape) - 1,), wdt)
    m, k_len = shape
    nb, cut = k_len // big, k_len // big * big
    blocks = be.sums(
        [be.reshape(v[:, :cut] if cut < k_len else v, (m, nb, big)) for v in xs], (2,), wdt
    )
    blocks = [be.barrier(v, *blocks) for v in blocks]
    out = be.sums(blocks, (1,), wdt)
    if cut < k_len:
        out = [
            a + b for a, b in zip(out, be.sums([v[:, cut:] for v in xs], (1,), wdt), strict=True)
        ]
    return out


def _passes(
    be: Backend, blk: Array, wf: Fmt, h: int, d: int, wide: Callable[[Array], Array]
) -> tuple[list[Array], Array]:
    """The ``d``-fold float-only extraction of the blocks ``blk`` (M, n, B), or of the rows (M, B),
    of at most ``2**h - 2`` values: the sums ``[T_1 .. T_d, R]`` (M, n) or (M,) each (the ``T``
    exact) and the last sigma, which bounds the tail (M, n, 1) or (M, 1). ``wide`` converts
    ``blk`` to the work format ``wf``.

    sigma_1 = fl(2**(h+1) * max|a| + 2**(emin + p + 1)) and sigma_{l+1} = fl(2**(h+2-p) * sigma_l
    + 2**(emin + p + 1)), as |r| <= 2**(1-p) sigma_l. One pass over the data per output, behind a
    barrier that takes the data and the sigmas anew: XLA CPU's fused reductions ran 10-30x slower
    with ``abs``, a negation or a product by a constant in them, several times slower merged into
    one multi-output fusion, and a sigma shared by several passes was materialized broadcast to
    the data's shape (measured with jax 0.10 and TF 2.21, issue 5). Hence the maximum |a| from a
    max and a min, and all sigma arithmetic on the small (M, n, 1) arrays. Where the backend has
    one variadic reduction (:meth:`Backend.fused_reductions`: jax.jit, TF under XLA) it is one
    pass for the max and min and one for all ``d + 1`` sums, which XLA CPU runs as one loop
    (jax_x64, 10**7 float64: 4.5-5.3x native instead of 5.8x). Eagerly (op by op: torch and TF
    on a GPU, NumPy) the data is widened once and each level extracted from the last one's rest.
    """
    wdt = be.native_dtype(wf.name)
    floor = 2.0 ** (wf.emin + wf.p + 1)
    ax = (len(blk.shape) - 1,)
    hi, lo = (wide(v) for v in be.max_min(blk, ax, True))
    # NaN in hi or lo gives a NaN sigma, and a max that drops NaN leaves it in the data: either
    # way it reaches the sums and fails the certificate.
    sig = [be.where(hi > -lo, hi, -lo) * 2.0 ** (h + 1) + floor]
    for _ in range(d - 1):
        sig.append(sig[-1] * 2.0 ** (h + 2 - wf.p) + floor)
    fused = be.fused_reductions()  # all d + 1 sums from one read: 2 passes instead of d + 3
    if fused or not be.is_traced(blk):  # (op by op every temporary is written anyway)
        cur, parts = wide(blk), []
        for s in sig:
            q = (cur + s) - s
            # Eagerly each level is summed at once, so only two full-size arrays are alive.
            parts.append(q if fused else be.sum(q, ax, False, wdt))
            cur = cur - q
        if fused:
            return _split_sums(be, [*parts, cur], wdt), sig[-1]
        return [*parts, be.sum(cur, ax, False, wdt)], sig[-1]
    vals: list[Array] = []
    for j in range(d + 1):
        cur = wide(be.barrier(blk, *vals[-1:]))
        ss = [be.barrier(v, *vals[-1:]) for v in sig]
        for lvl in range(d):
            q = (cur + ss[lvl]) - ss[lvl]
            if lvl == j:
                break
            cur = cur - q
        vals.append(be.sum(q if j < d else cur, ax, False, wdt))
    return vals, sig[-1]


def _row_terms(be: Backend, x2: Array, fmt: Fmt) -> tuple[list[Array], list[Array], Array | None]:
    """The extraction in float64 with one block per row: ``[T_1 .. T_d, R]`` (M,) each, the bound
    of ``R``'s error, and which rows :func:`_sanitize` kept.

    Every pass is then a plain row reduction (XLA CPU ran row reductions over blocks 2-3x slower
    per pass), ``x2`` is converted inside each pass (a widened copy cost more than the passes),
    and ``d`` grows with ``K`` until R's bound is at most ``2**-(p_out + 4)`` max|x|.
    """
    wf = FORMATS["float64"]
    wdt = be.native_dtype(wf.name)
    m, k_len = int(x2.shape[0]), int(x2.shape[1])
    h = (k_len + 1).bit_length()  # 2**h >= K + 2
    lb = max(k_len - 1, 1).bit_length()  # 2**lb >= K
    # 2**ld >= the additions any value's rounding error passes through in R's sum: K - 1 in one
    # reduction, at most L + K/L + 1 in two levels (:func:`_split_sums`).
    big = _split_len(be, m, k_len)
    ld = (big + k_len // big + 1).bit_length() if big else lb
    d = 1
    while d < 4 and lb + ld + 2 - 2 * wf.p + h + 1 + (d - 1) * (h + 2 - wf.p) > -(fmt.p + 4):
        d += 1
    src, row_valid = x2, None
    if not be.float_errors_silent:
        src, row_valid = _sanitize(be, be.astype(x2, wdt), wf, h + 3)
    # One copy of a transposed view, not one per pass; with fused reductions (two reads) no
    # copy: under TF's XLA the barrier cost 21.5 ms against 14.3 for a float32 sum of 10**7, and
    # 36.5 against 17.0 over axis 0 (jax.jit: the same within noise).
    src = src if be.fused_reductions() else be.barrier(src)

    def wide(v: Array) -> Array:
        return v if v.dtype == wdt else be.astype(v, wdt)

    # 2-D: a second reshape of a reshaped parameter made XLA copy it (80 MB) before the barriers.
    vals, sig = _passes(be, src, wf, h, d, wide)
    # |r| <= 2**(1-p) sigma_d, so R errs by at most 2**ld u K 2**(1-p) sigma_d (doubled).
    return vals, [be.reshape(sig, (m,)) * 2.0 ** (lb + ld - 2 * wf.p + 2)], row_valid


def _block_terms(
    be: Backend, x2: Array, fmt: Fmt, wk: _Work
) -> tuple[list[Array], list[Array], Array | None]:
    """The extraction per block of ``wk.block`` values, recursively on the block sums (float32
    work, which cannot hold a whole row): ``[T_1 .. T_d, R]`` (M,) each, the bounds of the
    errors of the ``R``s, and which rows :func:`_sanitize` kept."""
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    m, k_len = int(x2.shape[0]), int(x2.shape[1])
    a = x2 if fmt.name == wf.name else be.astype(x2, wdt)
    length, levels = k_len, 1  # the number of levels, as the loop below runs them
    while length > wk.block:
        length, levels = (wk.levels + 2) * -(-length // wk.block), levels + 1
    a, row_valid = _sanitize(be, a, wf, levels * (wk.h + 3))
    scale = 2.0 ** (2 * wk.lb - 2 * wf.p + 2)  # per-block factor, doubled for the fl-sum of sigmas
    terms: list[Array] = []
    while True:
        length = int(a.shape[1])
        b = min(wk.block, length)
        nf, rem = length // b, length % b
        parts = [be.reshape(a[:, : nf * b] if rem else a, (m, nf, b))]
        if rem:
            tail = be.concat([a[:, nf * b :], a[:, : b - rem] * 0.0], 1)
            parts.append(be.reshape(tail, (m, 1, b)))
        # The first level reads the data; later ones are small: one extraction more there tightens
        # the bound of the partial sums, which can be much larger than a cancelling total.
        depth = wk.levels + (1 if terms else 0)
        outs: list[list[Array]] = [[] for _ in range(depth + 1)]
        for blk in parts:
            vals, sig = _passes(be, blk, wf, wk.h, depth, lambda v: v)
            for j, v in enumerate(vals):
                outs[j].append(v)
            terms.append(be.sum(be.reshape(sig, (m, -1)), (1,), False, wdt) * scale)
        sums = [o[0] if len(o) == 1 else be.concat(o, 1) for o in outs]
        if int(sums[0].shape[1]) == 1:
            break
        a = be.concat(sums, 1)
    return [be.reshape(v, (m,)) for v in sums], terms, row_valid


def _quick_rows(be: Backend, x2: Array, fmt: Fmt) -> tuple[Array, Array]:
    """Float-only fast path: row sums (M,) of ``x2`` rounded to ``fmt`` and whether certified.

    As :func:`_fast_rows` but with no integer pass over the data (integer and select reductions
    measured 10x slower than float ones under XLA CPU), by :func:`_row_terms` where the backend
    has float64, else by :func:`_block_terms` in float32. The sigmas need not be powers of two
    (q is still exact: fl(a + sigma) lies in [sigma/2, 2 sigma], and every q is a multiple of
    2**(E - p), E = floor(log2 sigma), with partial sums below 2**E), and |r| <= 2**(E + 1 - p).
    Subnormals a device flushes (inputs read as zero, tiny results) are not detected but bounded:
    each of at most 8 flushes per element loses less than the smallest normal of the work or
    input format (float16 data thus takes the next try). NaN, inf and overflow propagate to the
    result, which must be finite.
    """
    if "float64" in be.work_dtypes(x2):
        wf = FORMATS["float64"]
        vals, terms, row_valid = _row_terms(be, x2, fmt)
    else:
        wf = _WORK["float32"].fmt
        vals, terms, row_valid = _block_terms(be, x2, fmt, _WORK["float32"])
    emin = wf.emin
    k_len = int(x2.shape[1])
    # T_1 + .. + T_d + R = t + (e_2 + .. + e_d + R) exactly; each addition into r errs by at most
    # eps * |its result|.
    t, r = vals[0], vals[-1]
    for v in vals[1:-1]:
        t, ek = _two_sum(t, v)
        r = r + ek
        terms.append(abs(r) * 2.0 ** (1 - wf.p))
    y, e = _two_sum(t, r)
    delta = terms[0]
    for term in terms[1:]:
        delta = delta + term
    # Flushed values: below the smallest normal of the input format (a flushing cast) or of the
    # work format, at most 8 * K of them.
    tiny = max(emin, fmt.emin)
    delta = (delta + 2.0 ** (tiny + 4 + max(k_len - 1, 1).bit_length())) * 2.0
    yo, ok = _certify(be, y, e, delta, fmt, wf)
    return yo, ok if row_valid is None else row_valid & ok


def _round_odd(be: Backend, y: Array, e: Array, wf: Fmt) -> Array:
    """``y + e`` (``y = fl(y + e)``; only the sign of ``e`` is read, so it may be wider) rounded to
    odd in ``y``'s format ``wf``: rounding that once more to a format at least two bits narrower
    is correct. Rounding ``y`` alone is not when it sits on a
    rounding boundary of the output (64.90625 + 7.7e-7 rounds up in float16, 64.90625 to even,
    down)."""
    wint = be.native_dtype(f"int{wf.nbits}")
    bits = be.bitcast(y, wint)
    below = (e != 0) & ((e < 0) != (y < 0))  # |y + e| < |y|: truncation is one ulp below
    bits = bits - be.astype(below, wint)
    odd = be.astype((e != 0) & (be.bitwise_and(bits, 1) == 0), wint)
    return be.bitcast(bits + odd, be.native_dtype(wf.name))


def _to_odd32(be: Backend, y: Array) -> Array:
    """``y`` (float64) rounded to float32 to odd: one more rounding to a format of at most 22 bits
    (float16, bfloat16) is then correct. torch converts float64 to float16 through float32
    (two roundings: 64.90625077 became 64.875, not 64.9375), which the certificate refused."""
    y32 = be.astype(y, be.native_dtype("float32"))
    return _round_odd(be, y32, y - be.astype(y32, be.native_dtype("float64")), FORMATS["float32"])


def _grow(z: list[Array], b: Array) -> list[Array]:
    """Shewchuk's Grow-Expansion: ``z + [b]`` as a nonoverlapping expansion (smallest first;
    zeros allowed) when ``z`` is one: its sign is that of its last nonzero component."""
    out = []
    for c in z:
        b, h = _two_sum(b, c)
        out.append(h)
    return [*out, b]


def _top(be: Backend, z: list[Array]) -> Array:
    """The last nonzero component of ``z`` (0 if all are): its sign is the expansion's."""
    t = z[0]
    for c in z[1:]:
        t = be.where(c != 0, c, t)
    return t


def _certify(
    be: Backend,
    y: Array,
    e: Array,
    delta: Array,
    fmt: Fmt,
    wf: Fmt,
    exact: Array | None = None,
    third: Array | None = None,
) -> tuple[Array, Array]:
    """``y`` rounded to ``fmt``, and whether that is certainly the exactly rounded value of ``V``,
    given ``|V - (y + e)| <= delta`` (``y``, ``e`` a TwoSum pair in the work format ``wf``).
    Where ``exact`` holds, ``V = y + e + third`` exactly (``third`` 0 if not given) and is
    compared with the rounding boundary exactly (``delta`` is then not read there).

    ``y_out`` and a quarter of its ulp must be normal (TF and XLA flush subnormals) and finite;
    NaN anywhere fails. The gap ``|y - y_out| + |e| + delta`` is computed with two roundings,
    covered by the factor ``1 - 8 * eps`` on the distance to the nearest rounding boundary."""
    emin = wf.emin
    bias_w = wf.bias
    bias_in = fmt.bias
    top = (2.0 - 2.0 ** (1 - fmt.p)) * 2.0 ** (fmt.emask - 1 - bias_in)  # largest finite
    low = 2.0 ** max(emin + fmt.p + 3, 1 - bias_in)  # y_out and a quarter ulp of it stay normal
    fits = (abs(y) <= top) & (abs(y) >= low)
    if fmt.name == wf.name:
        yo = yw = y
    else:
        yc = _round_odd(be, be.where(fits, y, 0), be.where(fits, e, 0), wf)
        if fmt.nbits == 16 and wf.nbits == 64:
            yc = _to_odd32(be, yc)
        yo = be.astype(yc, be.native_dtype(fmt.name))
        yw = be.astype(yo, be.native_dtype(wf.name))
    fits = fits & (abs(yw) >= low) & (abs(yw) <= top)
    oint = be.native_dtype(f"int{fmt.nbits}")
    olane = be.native_dtype("int32") if fmt.nbits == 16 else oint
    ob = be.astype(be.bitcast(yo, oint), olane)
    of = be.bitwise_and(be.shift_right(ob, fmt.p - 1), fmt.emask)
    pow_two = be.bitwise_and(ob, (1 << (fmt.p - 1)) - 1) == 0
    wint = be.native_dtype(f"int{wf.nbits}")
    dfield = be.astype(of, wint) + (bias_w - bias_in - fmt.p)
    half = _pow2(be, dfield, wf)
    quarter = _pow2(be, dfield - 1, wf)
    d = y - yw  # exact: y and y_out are within a factor 2
    gap = (abs(d) + abs(e)) + delta
    # Below a power of two the boundary is a quarter ulp away, unless V surely lies above it:
    # V - y_out = (d + e) + err, and fl(d + e) has the sign of d + e.
    de = d + e
    away = ((de > 0) == (yw > 0)) & (de != 0) & (abs(de) > delta * 2.0)
    cert = gap < be.where(pow_two & ~away, quarter, half) * (1.0 - 2.0 ** (3 - wf.p))
    if exact is not None:
        # Where V = y + e + third exactly: V - y_out = Z = d + e (+ third), an expansion whose
        # sign is exact, as is that of Z - sign(Z) * dist (|Z| - dist times sign(Z)): compare
        # with the boundary on Z's side and break an exact tie to even (at the largest finite
        # value the odd significand sends it to inf, refused by ``fits``). float32 work (JAX
        # with x64 off, TPUs) holds a prefix in three floats: counting the third as error sent
        # every long row of normal float32 data to the integer route (issue 5).
        z = _grow([d], e) if third is None else _grow(_grow([d], e), third)
        pos = _top(be, z) > 0
        dist = be.where((pos == (yw > 0)) | ~pow_two, half, quarter)
        w = _top(be, _grow(z, be.where(pos, -dist, dist)))
        tie = (w == 0) & (be.bitwise_and(ob, 1) == 0)
        cert = cert | (exact & ((((w < 0) == pos) & (w != 0)) | tie))
    return yo, fits & cert


# ---------------------------------------------------------------------------------- fast cumsum
# Cumulative sums by the same extraction, per block of B values, sigma a power of two above
# 2**h * max|a| of the block (issue 5: the integer route was 27.6x jnp.cumsum under jax.jit).
# Level j's values q_j are multiples of ulp(sigma_j) whose partial sums of any contiguous run stay
# below sigma_j, so their in-block prefix sums are exact in ANY order (a sequential loop or a
# parallel scan: every prefix a scan computes is some tree of additions of its own terms); the
# last tail r has in-block prefix sums erring by at most gamma_{B-1} * sum|r| (0 when the tail
# is 0). Each block's totals (d exact, one approximate) are a shorter row whose prefix sums,
# computed the same way with more levels (recursively), give every block its carry as 2 or 3
# floats and a bound. Every element cascades carry and in-block prefixes by TwoSum into those
# floats; what falls off is added to the bound. A bound of 0 means exact, so exact ties round to
# even and exact zeros give +0. A row with any uncertified prefix (NaN or inf, an all -0 prefix,
# a subnormal or overflowing result, a near tie under heavy cancellation) takes the integer route.
#
# Work format and levels: float64 where the backend has it (B = 1024, one level: the tail holds
# the bits below about 2**-40 max|a| of the block, and its in-block prefix sums are still exact
# unless the block holds a nonzero value below about 2**(p - 81) max|a| (float64 data: 2**-28,
# float32: 2**-57), which the tail's one reduction checks: a second level bought no certificate
# on ordinary data and cost a float64 cumsum), else float32 (B = 32, three levels, two for
# 16-bit data, and three floats per prefix).
@dataclass(frozen=True)
class _CumWork:
    """Work format of the certified cumsum, its levels and block (``2**h >= block + 2``)."""

    fmt: Fmt
    levels: int
    block: int
    h: int
    lb: int  # 2**lb >= block
    rec_levels: int  # levels for the rows of block totals
    comps: int  # floats holding a prefix: 2 (float64 work), 3 (float32 work: 72 bits)


def _cum_work(be: Backend, x2: Array, fmt: Fmt) -> _CumWork:
    """The work format and levels for cumulative sums of ``fmt`` data ``x2`` on ``be``."""
    # Block totals are multiples of their block's finest grid, and grow by up to 2**lb a
    # recursion level: extracting them whole (their tails vanish, the carries stay exact) takes
    # more levels than the data, about as many more as 2**lb-fold growths fit a level's bits
    # (p - h - 2: 40 in float64 work, 16 in float32 work), on rows B / (d + 1) times shorter.
    if "float64" in be.work_dtypes(x2):
        return _CumWork(FORMATS["float64"], 1, 1024, 11, 10, 3, 2)
    d = 3 if fmt.p > 11 else 2
    return _CumWork(FORMATS["float32"], d, 32, 6, 5, d + 3, 3)


def _first_sigma(be: Backend, blk: Array, wk: _CumWork) -> Array:
    """The first level's sigma (M, nb, 1) of the blocks ``blk`` (M, nb, B) in the work format.

    sigma = 2**(E + 1 + h) > 2**h * max|a| (2**E <= max|a|): a power of two, so that the
    remainders keep no bits of sigma's own (a sigma of 255.23 left 2**-48 in 0.886's tail) and
    exact data stays exact. At least 2**(emin + p + 1); past the finite range inf (q is then
    NaN and the certificate fails)."""
    wf = wk.fmt
    fs = be.clip(_field(be, be.max(abs(blk), (2,), True), wf), wf.p + 1, wf.emask) + (1 + wk.h)
    return be.where(fs <= wf.emask - 2, _pow2(be, fs, wf), float("inf"))


def _next_sigma(be: Backend, sig: Array, wk: _CumWork, floor: float) -> Array:
    """The next level's sigma, > 2**h * max|r| as |r| <= ulp(sigma) / 2 (at least floor)."""
    nxt = sig * 2.0 ** (wk.h + 2 - wk.fmt.p)
    return be.where(nxt > floor, nxt, floor)


def _cum_dd(
    be: Backend, a: Array, wk: _CumWork, floor: float, depth: int, sparse: bool = False
) -> tuple[list[Array], Array]:
    """Prefix sums of the rows of ``a`` (M, L) as ``wk.comps`` float arrays (M, L) whose sum
    they are (``y``, ``e`` a TwoSum pair, then a third term in float32 work), and a bound (M, L)
    on the error of that sum, in the work format (0: exact), by ``depth`` extraction levels per
    block. ``sparse``: the tail gets no prefix sums of its own (see :func:`_sparse_tail`)."""
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    m, k_len = int(a.shape[0]), int(a.shape[1])
    b = min(wk.block, k_len)
    nb = -(-k_len // b)
    blk = be.reshape(_pad_last(be, a, nb * b - k_len), (m, nb, b))
    sig = _first_sigma(be, blk, wk)

    def next_sigma(sig: Array) -> Array:
        return _next_sigma(be, sig, wk, floor)

    cur = blk
    parts = []
    for lvl in range(depth):
        q = (cur + sig) - sig
        parts.append(be.cumsum(q, 2, wdt))
        cur = cur - q
        if lvl < depth - 1:
            sig = next_sigma(sig)
    if sparse:
        tail_sum, beta, tot_beta = _sparse_tail(be, cur, next_sigma(sig), wk)
        totals = [tail_sum]
    else:
        parts.append(be.cumsum(cur, 2, wdt))
        beta = tot_beta = _tail_bound(be, cur, next_sigma(sig), sig, wk)
        totals = []
    if nb == 1:
        acc = [parts[0]] + [parts[0] * 0.0] * (wk.comps - 1)
        bound = beta + acc[1]  # (M, 1, B)
        rest = parts[1:]
    else:
        tot = be.concat([*(v[:, :, b - 1 :] for v in parts), *totals], 2)  # (M, nb, d + 1)
        tot = be.reshape(tot, (m, nb * (depth + 1)))
        gc, gd = _cum_dd(be, tot, wk, floor, wk.rec_levels)
        # Carry into block i: the prefix through block i - 1 (the last of its d + 1 totals), with
        # its own bound plus those of the tails of blocks 0 .. i - 1.
        incl = [be.reshape(v, (m, nb, depth + 1))[:, :, depth:] for v in (*gc, gd)]
        carry = [be.concat([v[:, :1, :] * 0.0, v[:, : nb - 1, :]], 1) for v in incl]
        acc, cd = carry[:-1], carry[-1]
        tails = be.cumsum(tot_beta, 1, wdt) - tot_beta  # (M, nb, 1), exclusive
        bound = beta + (cd + tails * 2.0)
        rest = parts
    # Each in-block prefix (at least two: a level and the tail) cascades into the terms by TwoSum;
    # what falls off the last term (0 when the terms hold the prefix exactly) adds to the bound.
    for v in rest:
        for i in range(len(acc)):
            acc[i], v = _two_sum(acc[i], v)
        bound = bound + abs(v) * 2.0
    y, e = _two_sum(acc[0], acc[1])
    comps = [y, e]
    if len(acc) == 3:
        comps[1], f = _two_sum(e, acc[2])
        comps.append(f)
    full = (m, nb * b)
    return [be.reshape(v, full)[:, :k_len] for v in comps], be.reshape(bound, full)[:, :k_len]


def _tail_bound(be: Backend, cur: Array, sig2: Array, sig: Array, wk: _CumWork) -> Array:
    """The bound (M, nb, 1) on the error of the in-block prefix sums of the tail ``cur``, whose
    blocks' last sigma is ``sig`` and the next one ``sig2``."""
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    # The tail's in-block prefix sums are exact when one more extraction would leave nothing
    # (r2 = 0 everywhere in the block): the tail is then that level's values, multiples of
    # ulp(sigma2) whose partial sums of any run stay below 2**(p-4) ulp(sigma2). Otherwise they err
    # by at most gamma_{B-1} * sum|r| <= 2**(lb+1-p) * B * ulp(sigma) / 2 = sigma * 2**(2 lb + 1
    # - 2 p) (a product that flushes to 0 leaves a sum of multiples of 2**emin below
    # 2**(emin + p): exact anyway). This costs no pass of its own: the check is the one
    # reduction over the tail, where one level more would have cost a cumsum.
    r2 = cur - ((cur + sig2) - sig2)
    exact_tail = be.sum(abs(r2), (2,), True, wdt) == 0  # (M, nb, 1)
    return be.where(exact_tail, 0.0, sig * 2.0 ** (2 * wk.lb + 1 - 2 * wf.p))


def _sparse_tail(be: Backend, cur: Array, sig2: Array, wk: _CumWork) -> tuple[Array, Array, Array]:
    """For a tail ``cur`` (M, nb, B) without prefix sums of its own: the blocks' tail sums
    (M, nb, 1), a bound (M, nb, 1) on every in-block tail prefix (the block's sum of ``|r|``: 0
    where the tail is 0) and one on the error of the blocks' tail sums (0 where one more
    extraction by the next sigma ``sig2`` would leave nothing, as in :func:`_tail_bound`: an
    inexact carry left every later exact tie of a row uncertified).

    float32 data keeps a nonzero tail only where ``|x|`` is below about ``2**(24 - 41)`` of its
    block's maximum in float64 work (``2**(24 - 49)`` in float32 work, :func:`_sparse_cum`): in
    most blocks of most data the tail is then 0 and leaves every prefix exact, and the rest err
    by less than the tiny values they hold. The tail's prefix sums cost a cumsum of the data (a
    third of the exact cumsum under XLA CPU, a quarter in float32 work), these sums a
    reduction."""
    wf = wk.fmt
    wdt = be.native_dtype(wf.name)
    m, nb = int(cur.shape[0]), int(cur.shape[1])
    r2 = cur - ((cur + sig2) - sig2)
    s_r, a_r, a_r2 = (
        be.reshape(v, (m, nb, 1)) for v in be.sums([cur, abs(cur), abs(r2)], (2,), wdt)
    )
    # fl(sum) errs by at most gamma_{B-1} * sum|r| <= 2**(lb + 1 - p) * sum|r|, and
    # sum|r| <= fl(sum|r|) * (1 + 2**(lb + 2 - p)).
    slack = 2.0 ** (wk.lb + 2 - wf.p)
    return s_r, a_r * (1.0 + slack), be.where(a_r2 == 0, 0.0, a_r * slack)


def _few_tails(be: Backend, x2: Array, fmt: Fmt) -> Array:
    """0-d boolean: whether at most one in 16 of a sample of the blocks of ``x2`` (M, K) (up to
    8 x 8, spread over the rows and along them) holds a tail for :func:`_sparse_tail`, which its
    bound then seldom fails to certify. Only a choice of route: a wrong guess costs time.

    On 10**6 float32 values the blocks holding a tail were 0.3-0.9% of them for normal and
    uniform data, with zeros or not, and all of them for data over 2**±13 (lognormal, sigma 3),
    where the bound failed 193 prefixes.

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.random.default_rng(0).standard_normal((1, 10**5)).astype(np.float32)
    >>> be = backend_of(x)
    >>> f32 = FORMATS["float32"]
    >>> bool(_few_tails(be, x, f32)), bool(_few_tails(be, x**9, f32))
    (True, False)
    """
    wk = _cum_work(be, x2, fmt)
    wf = wk.fmt
    m, k_len = int(x2.shape[0]), int(x2.shape[1])
    b = min(wk.block, k_len)
    nb = k_len // b
    rs, bs = max(1, m // 8), max(1, nb // 8)
    mr, nbs = min(8, -(-m // rs)), min(8, -(-nb // bs))
    blk = be.reshape(x2[::rs, : nb * b], (-(-m // rs), nb, b))[:mr, ::bs, :][:, :nbs, :]
    a = be.astype(blk, be.native_dtype(wf.name))
    # No NaN, inf or sigma past the range (NumPy would warn), and the levels of _cum_dd.
    a = be.where(abs(a) <= 2.0 ** (wf.bias - wk.levels * (wk.h + 2)), a, 0.0)
    sig = _first_sigma(be, a, wk)
    for _ in range(wk.levels):
        a = a - ((a + sig) - sig)
        sig = _next_sigma(be, sig, wk, 2.0 ** (wf.emin + wf.p + 1))
    i32 = be.native_dtype("int32")
    tail = be.astype(be.max(be.astype(a != 0, i32), (2,), False), i32)
    n = int(tail.shape[0]) * int(tail.shape[1])
    return be.sum(tail, None, False, i32) * 16 <= n


def _sparse_cum(be: Backend, x2: Array, fmt: Fmt) -> bool:
    """Whether the certified cumsum of ``fmt`` data may first try :func:`_sparse_tail`: where
    the extraction levels hold at least 16 bits more than the data's significand below a
    block's maximum, so that only values 2**16 times smaller reach the tail (float32, float16
    and bfloat16 data in float64 work: 41 bits; in float32 work, three levels: 49 bits for
    float32, two: 33 for 16-bit data; not float64 data).

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.zeros((1, 1))
    >>> be = backend_of(x)
    >>> _sparse_cum(be, x, FORMATS["float32"]), _sparse_cum(be, x, FORMATS["float64"])
    (True, False)
    """
    wk = _cum_work(be, x2, fmt)
    held = wk.fmt.p - wk.h - 1 + (wk.levels - 1) * (wk.fmt.p - wk.h - 2)
    return held - fmt.p >= 16


def _quick_cum_rows(be: Backend, x2: Array, fmt: Fmt, sparse: bool = False) -> tuple[Array, Array]:
    """Certified float-only cumsum: prefix sums (M, K) of ``x2`` rounded to ``fmt`` and whether
    every prefix of a row is certified (M,).

    Exactness is tracked (a bound of 0), so exact ties round to even and exact zeros are +0;
    rows holding a -0 leave their zero prefixes to the integer route (an all -0 prefix is -0).
    Where the device flushes subnormals every value must be a multiple of ``2**emin`` of the work
    format, and so is then everything computed from them: no operation flushes. Narrower inputs
    are (their subnormals rebuilt from the integer significand, which no cast flushes); rows of
    same-format data holding a nonzero value below ``2**(emin + p - 1)`` are refused.
    ``sparse``: the tail's prefix sums are bounded, not computed (:func:`_sparse_tail`).
    """
    wk = _cum_work(be, x2, fmt)
    wf = wk.fmt
    k_len = int(x2.shape[1])
    i32, i8 = be.native_dtype("int32"), be.native_dtype("int8")
    emin = wf.emin
    oint = be.native_dtype(f"int{fmt.nbits}")
    u = be.astype(be.bitcast(x2, oint), i32 if fmt.nbits == 16 else oint)
    absb = be.bitwise_and(u, (1 << (fmt.nbits - 1)) - 1)
    a = x2 if fmt.name == wf.name else be.astype(x2, be.native_dtype(wf.name))
    # 1 for a -0, 2 for a value too small where the device flushes subnormals.
    kind = be.astype(u == -(1 << (fmt.nbits - 1)), i8)  # int8: see _all
    if be.capabilities.flushes_subnormals:
        if fmt.name != wf.name and fmt.qmin >= emin:
            # Input subnormals, normal in the work format, are rebuilt from their integer
            # significand (a flushing cast would drop them); every input is then a multiple of
            # 2**qmin >= 2**emin of the work format.
            sub = be.astype(be.where(u < 0, -absb, absb), be.native_dtype(wf.name))
            a = be.where(absb < (1 << (fmt.p - 1)), sub * 2.0**fmt.qmin, a)
        else:
            bias_in = fmt.bias
            low_field = max(1, emin + wf.p - 1 + bias_in)  # input field of 2**(emin + p - 1)
            thr = min(low_field, fmt.emask) << (fmt.p - 1)
            kind = be.where((absb != 0) & (absb < thr), 2, kind)
    length, levels = k_len, 1
    while length > wk.block:
        length, levels = (wk.rec_levels + 1) * -(-length // wk.block), levels + 1
    a, row_valid = _sanitize(be, a, wf, levels * (wk.h + 3))
    floor = 2.0 ** (emin + wf.p + 1)
    comps, delta = _cum_dd(be, a, wk, floor, wk.levels, sparse)
    y, e = comps[0], comps[1]
    exact = delta == 0
    zero = exact & (y == 0) & (e == 0)
    third = None
    if len(comps) == 3:  # float32 work: V = y + e + third where exact
        third = comps[2]
        delta = delta + abs(third)
        zero = zero & (third == 0)
    flag = be.max(kind, (1,), True)  # (M, 1)
    yo, ok = _certify(be, y, e, delta, fmt, wf, exact=exact, third=third)
    # An exact zero: +0, unless the row holds a -0 (the prefix might be all -0).
    ok = be.where(zero, flag == 0, ok) & (flag != 2)
    yo = be.where(zero, 0, yo)  # +0
    row_ok = _all(be, ok, (1,))
    return yo, row_ok if row_valid is None else row_valid & row_ok


def _all(be: Backend, ok: Array, axes: tuple[int, ...] | None = None) -> Array:
    """Boolean: every element of ``ok`` holds (over ``axes``; all of them: 0-d).

    int8 flags: XLA CPU reduced 10**7 int32 flags in about 20 ms, int8 ones in 2 (issue 5).

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> ok = np.array([[True, True], [True, False]])
    >>> _all(backend_of(ok), ok, (1,)).tolist(), bool(_all(backend_of(ok), ok))
    ([True, False], False)
    """
    return be.max(be.astype(~ok, be.native_dtype("int8")), axes, False) == 0


def fast_ok(be: Backend, x2: Array, out: str) -> Array:
    """0-d boolean: whether the fast path certifies every row sum of the real ``x2`` (M, K).

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.array([[1.0, 2.0**-53], [1.0, 2.0**-52]])
    >>> bool(fast_ok(backend_of(x), x, "float64")), bool(fast_ok(backend_of(x), x[1:], "float64"))
    (False, True)
    """
    return _all(be, _fast_rows(be, x2, FORMATS[out])[1])


def quick_ok(be: Backend, x2: Array, out: str) -> Array:
    """0-d boolean: whether the float-only first try certifies every row sum of ``x2`` (M, K).

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.array([[1e300, 1.0, -1e300], [0.5, 0.25, 3.0]])
    >>> bool(quick_ok(backend_of(x), x, "float64")), bool(quick_ok(backend_of(x), x[1:], "float64"))
    (False, True)
    """
    return _all(be, _quick_rows(be, x2, FORMATS[out])[1])


#: Rows the float-only try may leave uncertified and still be patched one by one (issue 5: with
#: 10**4 rows of 1000 float32 values two failed, and the whole call took the integer route at
#: 225x native under jax.jit), at least; one row in 1024 of more rows (10**5 normal float32
#: columns of 1000 values: 27 failed, and the whole call took the careful route at 15-69x
#: native). More failures send the whole call down the next route.
PATCH_ROWS = 16


def patch_capacity(m: int) -> int:
    """How many of ``m`` rows :func:`_patch_rows` redoes one by one.

    >>> patch_capacity(1000), patch_capacity(10**5)
    (16, 97)
    """
    return max(PATCH_ROWS, m // 1024)


def _careful_rows(be: Backend, x2: Array, fmt: Fmt) -> Array:
    """Exact row sums (M,) of ``x2`` by the bit-checking try, else the integer algorithm."""
    fast, ok = _fast_rows(be, x2, fmt)
    return be.cond(_all(be, ok), lambda: fast, lambda: _float_rows_exact(be, x2, fmt, False))


def _careful_cum_rows(be: Backend, x2: Array, fmt: Fmt) -> Array:
    """Exact row prefix sums (M, K) of ``x2`` by the integer algorithm."""
    return _float_rows_exact(be, x2, fmt, True)


def _cum_tries(be: Backend, x2: Array, fmt: Fmt, rows: Callable[[], Array]) -> Array:
    """The certified float-only cumsum tries of data :func:`_sparse_cum` admits: prefix sums
    (M, K) of ``x2``, NaN throughout the rows left uncertified (a certified prefix is never NaN).

    Where :func:`_few_tails` holds, the try that bounds the tail, then for its uncertified rows
    the one with the tail's prefix sums; otherwise that one alone. The verdict travels in the
    result so that each try and the integer route after them are built once (jax.jit compiled
    the exact cumsum of 4 x 3000 float32 values in 2.55 s with the routes built per branch,
    1.75 s before the bounded try). ``rows()`` builds ``x2`` anew in each branch: torch.cond
    refuses branch inputs that alias (``x2`` a view of the caller's array)."""
    m = int(x2.shape[0])
    odt = be.native_dtype(fmt.name)

    def marked(sparse: bool) -> Array:
        yo, ok = _quick_cum_rows(be, rows(), fmt, sparse)
        return be.where(be.reshape(ok, (m, 1)), yo, float("nan"))

    # Without few tails, every row "failed" the bounded try: one copy of each try is built.
    y = be.cond(
        _few_tails(be, x2, fmt),
        lambda: marked(True),
        lambda: be.astype(rows(), odt) * float("nan"),
    )
    ok = be.reshape(y[:, 0] == y[:, 0], (m, 1))
    return be.cond(_all(be, ok), lambda: y, lambda: be.where(ok, y, marked(False)))


def _cum_rows(be: Backend, x2: Array, fmt: Fmt) -> Array:
    """Exact row prefix sums (M, K) of ``x2`` by the certified try with the tail's own prefix
    sums, else the integer algorithm: where :func:`_sparse_tail`'s bound did not certify."""
    quick, ok = _quick_cum_rows(be, x2, fmt)
    return be.cond(_all(be, ok), lambda: quick, lambda: _careful_cum_rows(be, x2, fmt))


Careful = Callable[[Backend, Array, Fmt], Array]


def _patch_rows(
    be: Backend, x2: Array, fmt: Fmt, quick: Array, ok: Array, careful: Careful
) -> Array:
    """``quick`` (M,) or (M, K) with its uncertified rows (at most :func:`patch_capacity`) redone
    by ``careful``: the failing rows are gathered into a (C, K) array (unused slots repeat the
    last row), summed, and scattered back by their rank among the failures (no data-dependent
    shapes: works traced). Slot ``s`` finds the ``s``-th failing row by a binary search over the
    running count of failures: ``C log2 M`` gathers, not an (M, C) comparison."""
    m, c = int(x2.shape[0]), patch_capacity(int(x2.shape[0]))
    i32 = be.native_dtype("int32")
    fail = be.astype(~ok, i32)
    count = be.cumsum(fail, 0, i32)  # failures among rows 0 .. i
    rank = count - 1  # of a failing row, among the failing rows
    slot = (be.cumsum(fail * 0 + 1, 0, i32) - 1)[:c]  # 0 .. C-1
    # The first row i with count[i] > slot: lo <= i <= hi throughout, from lo = 0, hi = M - 1.
    lo, hi = slot * 0, slot * 0 + (m - 1)
    for _ in range(max(m - 1, 1).bit_length()):
        mid = be.shift_right(lo + hi, 1)
        right = be.take(count, mid, 0) <= slot
        lo = be.where(right, mid + 1, lo)
        hi = be.where(right, hi, mid)
    # Unused slots (past the last failure) end at M, clipped to the last row.
    fixed = careful(be, be.take(x2, be.clip(lo, 0, m - 1), 0), fmt)
    keep = ok if len(quick.shape) == 1 else be.reshape(ok, (m, 1))
    return be.where(keep, quick, be.take(fixed, be.clip(rank, 0, c - 1), 0))


def _float_rows(
    be: Backend,
    x2: Array,
    fmt: Fmt,
    cumulative: bool,
    rows: Callable[[], Array] | None = None,
    sparse: bool | None = None,
) -> Array:
    """Exact row sums (M,) or prefix sums (M, K): the certified float-only try first, then
    (for at most :func:`patch_capacity` rows, else for all) the careful route.

    ``rows()`` makes ``x2`` anew (from the caller's array, e.g. a transpose): the later routes
    build their input inside their branch, so a compiler need not keep a copy of ``x2`` for a
    branch that does not run (jax.jit kept a 40 MB transposed copy for the conditional: exact
    float32 sums over axis 0 of 1000 x 10**4 took 63 ms, the float-only try alone 29 ms).
    ``sparse`` (cumsums): whether the try bounds the tail (:func:`_sparse_tail`); ``None``
    decides by :func:`_few_tails` where the data is narrow enough."""
    careful_input = rows if rows is not None else (lambda: x2)
    if cumulative:
        careful: Careful = _careful_cum_rows
        if sparse is None and _sparse_cum(be, x2, fmt) and int(x2.shape[1]):
            quick = _cum_tries(be, x2, fmt, careful_input)
            quick_ok = quick[:, 0] == quick[:, 0]
        else:
            quick, quick_ok = _quick_cum_rows(be, x2, fmt, bool(sparse))
            careful = _cum_rows if sparse else _careful_cum_rows
    else:
        quick, quick_ok = _quick_rows(be, x2, fmt)
        careful = _careful_rows
    cap = patch_capacity(int(x2.shape[0]))
    if int(x2.shape[0]) <= 2 * cap:
        return be.cond(_all(be, quick_ok), lambda: quick, lambda: careful(be, careful_input(), fmt))

    def fallback() -> Array:
        i32 = be.native_dtype("int32")
        nfail = be.sum(be.astype(~quick_ok, i32), None, False, i32)
        return be.cond(
            nfail <= cap,
            lambda: _patch_rows(be, careful_input(), fmt, quick, quick_ok, careful),
            lambda: careful(be, careful_input(), fmt),
        )

    return be.cond(_all(be, quick_ok), lambda: quick, fallback)


# ---------------------------------------------------------------------------------- integers
_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "bool": 1}


def int_rows_fit(be: Backend, x2: Array, in_name: str, out: str, cumulative: bool) -> Array:
    """Boolean array: whether each exact row sum (or prefix sum) of ``x2`` (M, K) fits ``out``."""
    lanes = lanes_for(be.work_dtypes(x2))
    lane = be.native_dtype(lanes.name)
    k_len = int(x2.shape[1])
    in_bits = _INT_BITS.get(in_name) or _UINT_BITS[in_name]
    signed_in = in_name in _INT_BITS
    if in_name == "bool":
        v = be.astype(x2, lane)
    elif in_bits == lanes.bits:
        v = be.bitcast(x2, lane)
    elif in_bits < lanes.bits:
        v = be.astype(x2, lane)
    else:  # pragma: no cover - a device without int64 holds no 64-bit integers
        raise UnireduceValueError(f"sum: {in_name} input needs int64 lanes")
    ndig = -(-in_bits // lanes.w)
    if in_bits < lanes.bits:
        # Value-preserving cast: digits of the two's-complement value, the top one signed.
        ndig = -(-(in_bits + 1) // lanes.w)
        signed_in = True
    cols: list[Array | None] = [None] * (ndig + 2)  # column c has weight 2**(w*(ndig-c))
    for j in range(ndig):
        digit = be.shift_right(v, lanes.w * j) if j else v
        if j < ndig - 1 or not signed_in:
            digit = be.bitwise_and(digit, lanes.mask)
        lo, hi = _window_sums(be, digit, lanes, cumulative, k_len)
        c = ndig + 1 - j
        cols[c] = lo if cols[c] is None else cols[c] + lo
        if hi is not None:
            cols[c - 1] = hi if cols[c - 1] is None else cols[c - 1] + hi
    full = _normalize(be, cols, lanes)
    negative = full[0] < 0
    mag = _normalize(be, [be.where(negative, -c, c) for c in full], lanes)
    n = len(mag)
    out_bits = _INT_BITS.get(out) or _UINT_BITS[out]
    limit = out_bits - 1 if out in _INT_BITS else out_bits  # |V| < 2**limit (positive side)
    below = None
    equal = None
    for c in range(n):
        pos = lanes.w * (n - 1 - c)
        sh = min(max(limit - pos, 0), lanes.bits - 1)
        b = be.shift_right(mag[c], sh) == 0
        below = b if below is None else below & b
        want = (
            (1 << (limit - pos)) if 0 <= limit - pos < lanes.w or (c == 0 and limit >= pos) else 0
        )
        e = mag[c] == want
        equal = e if equal is None else equal & e
    assert below is not None and equal is not None
    if out in _INT_BITS:
        return below | (negative & equal)
    return below & ~negative


def sum_rows(
    be: Backend, x2: Array, out: str, cumulative: bool, rows: Callable[[], Array] | None = None
) -> Array:
    """Exact row sums (M,) or prefix sums (M, K) of the float/complex ``x2`` (M, K), rounded.

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.array([[0.1] * 10], dtype=np.float32)
    >>> sum_rows(backend_of(x), x, "float32", False).tolist()
    [1.0]
    """
    work = be.work_dtypes(x2)
    if out not in work:  # float64 data where the device has no float64 (TPUs, MPS)
        takes = ", ".join(d for d in REAL_FLOAT + COMPLEX if d in work)
        raise UnireduceValueError(
            f"{'cumsum' if cumulative else 'sum'}: precision='exact' on a device without "
            f"float64 (TPUs, MPS) takes {takes} data, got {out}"
        )
    if out in ("complex64", "complex128"):
        comp = COMPLEX_COMPONENT[out]
        fresh = rows
        re_rows = None if fresh is None else (lambda: be.real(fresh()))
        im_rows = None if fresh is None else (lambda: be.imag(fresh()))
        re = _float_rows(be, be.real(x2), FORMATS[comp], cumulative, re_rows)
        im = _float_rows(be, be.imag(x2), FORMATS[comp], cumulative, im_rows)
        return be.make_complex(re, im)
    return _float_rows(be, x2, FORMATS[out], cumulative, rows)


def check_int(be: Backend, y: Array, fits: Array, fn: str, out: str) -> Array:
    """``y``, after raising :class:`IntegerOverflowError` when any ``fits`` is False (the one host
    sync). A traced or lazy array gets the check attached instead (:meth:`Backend.guard`), made
    when the compiled code runs or the array is computed (not under TF's XLA)."""
    bad = be.max(be.astype(~fits, be.native_dtype("int32")), None, False) != 0
    err = IntegerOverflowError(
        f"{fn}: with precision='exact' the exact integer result does not fit the output "
        f"dtype {out}; request a wider dtype (dtype='int64' or 'uint64')"
    )
    if be.is_traced(fits):
        return be.guard(y, bad, err)
    if bool(be.to_python(bad)):
        raise err
    return y
