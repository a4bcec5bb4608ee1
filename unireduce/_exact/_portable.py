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

from typing import Any

from unireduce._backend import Backend
from unireduce._errors import IntegerOverflowError, UnireduceValueError

from ._formats import FORMATS, Fmt, Lanes, lanes_for

__all__ = ["int_rows_fit", "sum_rows"]

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
        if nb > b // 2:
            raise UnireduceValueError(
                f"sum: exact mode in {lanes.name} lanes sums at most {b * b // 2} elements per "
                f"output, got {k_len}"
            )
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


# ---------------------------------------------------------------------------------- floats
def _float_rows(be: Backend, x2: Array, fmt: Fmt, cumulative: bool) -> Array:
    """Exact row sums (M,) or row prefix sums (M, K) of the real float array ``x2`` (M, K)."""
    lanes = lanes_for(be.supported_dtypes())
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
    need = _concrete_int(be, be.max(top - kmin_row, None, False))
    g = static_g if need is None else max(1, min(static_g, -(-need // lanes.w)))

    mask_arr = sig * 0 + lanes.mask
    cols: list[Array | None] = [None] * (g + 1)
    for j in range(g):
        base = top - lanes.w * (j + 1)
        dd = k - base
        left = be.clip(dd, 0, lanes.w)
        right = be.clip(-dd, 0, lanes.bits - 1)
        digit = be.shift_left(
            be.bitwise_and(be.shift_right(sig, right), be.shift_right(mask_arr, left)), left
        )
        digit = be.where(neg, -digit, digit)
        lo, hi = _window_sums(be, digit, lanes, cumulative, k_len)
        cols[j + 1] = lo if cols[j + 1] is None else cols[j + 1] + lo
        if hi is not None:
            cols[j] = hi if cols[j] is None else cols[j] + hi

    full = _normalize(be, cols, lanes)
    negative = full[0] < 0
    full = _normalize(be, [be.where(negative, -c, c) for c in full], lanes)
    if not cumulative:
        top = be.reshape(top, (m,))

    # Top nonzero digit and its base.
    dtop = full[g]
    btop = top - lanes.w * g + dtop * 0
    for c in range(g - 1, -1, -1):
        nz = full[c] != 0
        dtop = be.where(nz, full[c], dtop)
        btop = be.where(nz, top - lanes.w * c + dtop * 0, btop)
    zero = dtop == 0
    lead = btop + _bitlen(be, dtop, lanes) - 1
    # Past the finite range the result is inf; clipping q keeps the lanes from overflowing.
    ovf = lead - (p - 1) >= fmt.emask - 1
    q = be.clip(lead - (p - 1), 0, fmt.emask - 1)
    s0 = None
    s1 = None
    sticky = None
    for c in range(g + 1):
        base_c = top - lanes.w * c
        e = base_c - q
        a = _shift(be, full[c], e, lanes)
        b = _shift(be, full[c], e + 1, lanes)
        n = be.clip(q - 1 - base_c, 0, lanes.bits - 2)
        st = (full[c] - be.shift_left(be.shift_right(full[c], n), n)) != 0
        s0 = a if s0 is None else s0 + a
        s1 = b if s1 is None else s1 + b
        sticky = st if sticky is None else sticky | st
    assert s0 is not None and s1 is not None and sticky is not None
    rbit = be.bitwise_and(s1, 1)
    odd = be.bitwise_and(s0, 1)
    inc = rbit * be.where(sticky, 1, odd)
    bits = be.shift_left(q, p - 1) + s0 + inc
    bits = be.where(ovf, fmt.inf_bits, be.clip(bits, 0, fmt.inf_bits))
    bits = be.where(zero, 0, bits)
    sgn = -(1 << (fmt.nbits - 1))
    signed = negative | (zero & ~not_all_negzero)
    out = be.where(signed, bits + sgn, bits)
    out = be.where(any_pinf, fmt.inf_bits, out)
    out = be.where(any_ninf, fmt.inf_bits + sgn, out)
    out = be.where(any_nan | (any_pinf & any_ninf), fmt.nan_bits, out)
    if fmt.nbits != lanes.bits:
        out = be.astype(out, be.native_dtype(f"int{fmt.nbits}"))
    return be.bitcast(out, be.native_dtype(fmt.name))


# ---------------------------------------------------------------------------------- integers
_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "bool": 1}


def int_rows_fit(be: Backend, x2: Array, in_name: str, out: str, cumulative: bool) -> Array:
    """Boolean array: whether each exact row sum (or prefix sum) of ``x2`` (M, K) fits ``out``."""
    lanes = lanes_for(be.supported_dtypes())
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


def sum_rows(be: Backend, x2: Array, out: str, cumulative: bool) -> Array:
    """Exact row sums (M,) or prefix sums (M, K) of the float/complex ``x2`` (M, K), rounded.

    >>> import numpy as np
    >>> from unireduce._registry import backend_of
    >>> x = np.array([[0.1] * 10], dtype=np.float32)
    >>> sum_rows(backend_of(x), x, "float32", False).tolist()
    [1.0]
    """
    if out in ("complex64", "complex128"):
        comp = "float32" if out == "complex64" else "float64"
        re = _float_rows(be, be.real(x2), FORMATS[comp], cumulative)
        im = _float_rows(be, be.imag(x2), FORMATS[comp], cumulative)
        return be.make_complex(re, im)
    return _float_rows(be, x2, FORMATS[out], cumulative)


def check_int(be: Backend, fits: Array, fn: str, out: str) -> None:
    """Raise :class:`IntegerOverflowError` when any ``fits`` is False (the one host sync)."""
    if be.is_traced(fits):
        return
    if not bool(be.to_python(be.max(be.astype(~fits, be.native_dtype("int32")), None, False) == 0)):
        raise IntegerOverflowError(
            f"{fn}: with precision='exact' the exact integer result does not fit the output "
            f"dtype {out}; request a wider dtype (dtype='int64' or 'uint64')"
        )
