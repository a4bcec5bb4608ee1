"""Exact arithmetic core of :mod:`unireduce.reference`.

Nothing here shares arithmetic with a backend. Integers are summed as Python ints and wrapped
two's-complement to the output dtype. A float is taken apart into its integer significand and
exponent straight from its bit pattern (NumPy integer operations on the bits), the sum is formed
exactly as an integer multiple of the format's smallest subnormal, rounded half to even by integer
operations, and the result is built from its bit pattern. NaN, infinities, overflow and signed zero
follow IEEE 754 addition. NumPy only holds the data and does the exact integer bookkeeping.

Two independent exact engines are used, so that the tests can check one against the other:

* :func:`exact_sum` (one dimension) groups significands by exponent with ``np.bincount`` on exact
  integer pieces, forms one Python int and rounds it with :func:`round_exact`.
* :func:`exact_sum_along` and :func:`exact_cumsum_along` hold every (partial) sum as a vector of
  32-bit limbs in ``int64`` (exact: blocks of at most 2**22 entries keep every limb below 2**56
  in magnitude) and round all of them at once with integer bit operations.

Error bounds for native-precision checks (issue 4) use the summation bound of Rump (BIT 52, 2012)
and Jeannerod & Rump (SIMAX 34, 2013): whatever the order of evaluation, a sum of ``n`` floats in a
format with unit roundoff ``u`` is within ``(n-1)·u·Σ|x_i|`` of the exact sum, with no condition on
``n``.

>>> import numpy as np
>>> float(exact_sum(np.array([1e308, 1e308, -1e308]), "float64"))
1e+308
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import accumulate
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from unireduce._errors import AxisError, DTypeError, UnireduceValueError

__all__ = [
    "FloatFormat",
    "cumsum_error_bounds",
    "exact_cumsum",
    "exact_cumsum_along",
    "exact_sum",
    "exact_sum_along",
    "float_format",
    "int_fits",
    "round_exact",
    "sum_error_bound",
    "within_bound",
    "within_bound_mask",
    "wrap_int",
]

FLOAT_DTYPES: tuple[str, ...] = ("float16", "bfloat16", "float32", "float64")
COMPLEX_COMPONENT: dict[str, str] = {"complex64": "float32", "complex128": "float64"}
# name -> (bits, signed); "bool" is handled on its own (cast to bool, logical or).
INT_DTYPES: dict[str, tuple[int, bool]] = {
    "int8": (8, True),
    "int16": (16, True),
    "int32": (32, True),
    "int64": (64, True),
    "uint8": (8, False),
    "uint16": (16, False),
    "uint32": (32, False),
    "uint64": (64, False),
}
_ALL_DTYPES = ("bool", *INT_DTYPES, *FLOAT_DTYPES, *COMPLEX_COMPONENT)

# precision (hidden bit included), exponent bits, total bits
_FORMAT_PARAMS: dict[str, tuple[int, int, int]] = {
    "float16": (11, 5, 16),
    "bfloat16": (8, 8, 16),
    "float32": (24, 8, 32),
    "float64": (53, 11, 64),
}

_M32 = (1 << 32) - 1
# Entries (int64 limbs) per block of the limb engine: 2**22 * 8 bytes = 32 MiB.
_BLOCK_ENTRIES = 1 << 22
# np.bincount adds float64 weights; pieces of 18 bits keep every partial sum an integer below
# 2**53 (hence exact) for up to 2**35 addends per call.
_PIECE_BITS = 18
_BINCOUNT_CHUNK = 1 << 34

IntArray = npt.NDArray[np.int64]
UIntArray = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]
RoundMode = Literal["nearest", "up", "down"]


@dataclass(frozen=True)
class FloatFormat:
    """Parameters of a binary IEEE 754 format (bfloat16 included).

    >>> f = float_format("float16")
    >>> (f.precision, f.emin, f.emax, f.bias, f.bits, f.max_finite, f.min_subnormal_exp)
    (11, -14, 15, 15, 16, Fraction(65504, 1), -24)
    """

    name: str
    precision: int  # significand bits, hidden bit included
    exponent_bits: int
    emin: int  # exponent of the smallest normal number
    emax: int  # exponent of the largest finite number
    bias: int
    bits: int  # total storage bits
    max_finite: Fraction
    min_subnormal_exp: int  # the smallest subnormal is 2**min_subnormal_exp
    unit_roundoff: Fraction  # u = 2**-precision

    @property
    def smallest_normal(self) -> Fraction:
        """``2**emin``."""
        return Fraction(2) ** self.emin

    @property
    def smallest_subnormal(self) -> Fraction:
        """``2**min_subnormal_exp``."""
        return Fraction(2) ** self.min_subnormal_exp

    @property
    def exponent_mask(self) -> int:
        """All-ones biased exponent (infinities and NaN)."""
        return (1 << self.exponent_bits) - 1

    @property
    def sign_bit(self) -> int:
        """The sign bit of the storage word."""
        return 1 << (self.bits - 1)

    @property
    def inf_bits(self) -> int:
        """Bit pattern of +inf."""
        return self.exponent_mask << (self.precision - 1)

    @property
    def nan_bits(self) -> int:
        """Bit pattern of the default quiet NaN."""
        return self.inf_bits | (1 << (self.precision - 2))


@cache
def float_format(dtype: str) -> FloatFormat:
    """The :class:`FloatFormat` of ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``.

    >>> float_format("bfloat16").precision, float_format("float32").unit_roundoff
    (8, Fraction(1, 16777216))
    """
    if dtype not in _FORMAT_PARAMS:
        raise DTypeError(
            f"float_format: dtype {dtype!r} is not a real floating dtype; "
            f"allowed: {', '.join(FLOAT_DTYPES)}"
        )
    p, ebits, bits = _FORMAT_PARAMS[dtype]
    bias = (1 << (ebits - 1)) - 1
    emin, emax = 1 - bias, bias
    max_finite = (Fraction(2) - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
    return FloatFormat(
        name=dtype,
        precision=p,
        exponent_bits=ebits,
        emin=emin,
        emax=emax,
        bias=bias,
        bits=bits,
        max_finite=max_finite,
        min_subnormal_exp=emin - p + 1,
        unit_roundoff=Fraction(1, 1 << p),
    )


# --------------------------------------------------------------------------------------------
# dtype helpers


def _np_dtype(name: str) -> np.dtype[Any]:
    """NumPy dtype of a canonical name; bfloat16 is ``ml_dtypes.bfloat16`` (imported lazily)."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError as exc:  # pragma: no cover - ml_dtypes is installed in CI
            raise DTypeError("bfloat16 needs the optional dependency ml_dtypes") from exc
        return np.dtype(ml_dtypes.bfloat16)
    if name not in _ALL_DTYPES:
        raise DTypeError(f"unknown dtype {name!r}; allowed: {', '.join(_ALL_DTYPES)}")
    return np.dtype(name)


def _dtype_name(dt: np.dtype[Any], func: str) -> str:
    """Canonical name of a NumPy dtype, or DTypeError."""
    name = dt.name
    if name not in _ALL_DTYPES:
        raise DTypeError(f"{func}: input dtype {dt!s} is not supported; allowed: {_ALL_DTYPES}")
    return name


def _uint_dtype(bits: int) -> np.dtype[Any]:
    return np.dtype({16: np.uint16, 32: np.uint32, 64: np.uint64}[bits])


def _from_bits(bits: UIntArray, fmt: FloatFormat) -> npt.NDArray[Any]:
    """Array of dtype ``fmt`` whose bit patterns are ``bits`` (uint64 holding the storage word)."""
    return np.asarray(bits, dtype=np.uint64).astype(_uint_dtype(fmt.bits)).view(_np_dtype(fmt.name))


def _scalar_from_bits(bits: int, fmt: FloatFormat) -> Any:
    return _from_bits(np.array(bits, dtype=np.uint64), fmt)[()]


# --------------------------------------------------------------------------------------------
# integers


def int_fits(n: int, dtype: str) -> bool:
    """Whether the Python int ``n`` is representable in the integer (or bool) ``dtype``.

    >>> int_fits(127, "int8"), int_fits(128, "int8"), int_fits(-1, "uint8"), int_fits(1, "bool")
    (True, False, False, True)
    """
    if dtype == "bool":
        return n in (0, 1)
    bits, signed = _int_info(dtype, "int_fits")
    if signed:
        return -(1 << (bits - 1)) <= n < (1 << (bits - 1))
    return 0 <= n < (1 << bits)


def wrap_int(n: int, dtype: str) -> int:
    """``n`` wrapped two's-complement to the integer ``dtype``; for ``"bool"``, ``int(n != 0)``.

    >>> wrap_int(128, "int8"), wrap_int(-1, "uint16"), wrap_int(2**64 + 5, "int64")
    (-128, 65535, 5)
    >>> wrap_int(2, "bool")
    1
    """
    if dtype == "bool":
        return int(n != 0)
    bits, signed = _int_info(dtype, "wrap_int")
    mask = (1 << bits) - 1
    if signed:
        half = 1 << (bits - 1)
        return ((n + half) & mask) - half
    return n & mask


def _int_info(dtype: str, func: str) -> tuple[int, bool]:
    if dtype not in INT_DTYPES:
        raise DTypeError(
            f"{func}: dtype {dtype!r} is not an integer dtype; "
            f"allowed: bool, {', '.join(INT_DTYPES)}"
        )
    return INT_DTYPES[dtype]


def _wrap_list(values: list[int], dtype: str) -> list[int]:
    if dtype == "bool":
        return [int(v != 0) for v in values]
    bits, signed = INT_DTYPES[dtype]
    mask = (1 << bits) - 1
    if signed:
        half = 1 << (bits - 1)
        return [((v + half) & mask) - half for v in values]
    return [v & mask for v in values]


def _check_int_input(x: npt.NDArray[Any], func: str, out_dtype: str) -> None:
    if x.dtype.kind not in "biu":
        raise DTypeError(
            f"{func}: integer output dtype {out_dtype!r} needs bool or integer input, got "
            f"{x.dtype!s}; cast float input first"
        )


def _int_sum_rows(x2: npt.NDArray[Any], out_dtype: str) -> npt.NDArray[Any]:
    """Row sums of a 2-D bool/int array as Python ints, wrapped to ``out_dtype``."""
    rows: list[list[int]] = x2.tolist()
    if out_dtype == "bool":
        # Adding bools is logical or; a cast of each element to bool comes first.
        res = [int(any(r)) for r in rows]
    else:
        res = _wrap_list([sum(r) for r in rows], out_dtype)
    return np.array(res, dtype=_np_dtype(out_dtype)).reshape(x2.shape[0])


def _int_cumsum_rows(x2: npt.NDArray[Any], out_dtype: str) -> npt.NDArray[Any]:
    rows: list[list[int]] = x2.tolist()
    out = np.empty(x2.shape, dtype=_np_dtype(out_dtype))
    for i, r in enumerate(rows):
        if out_dtype == "bool":
            out[i] = list(accumulate((v != 0 for v in r), lambda a, b: a or b))
        else:
            out[i] = _wrap_list(list(accumulate(r)), out_dtype)
    return out


# --------------------------------------------------------------------------------------------
# correct rounding of an integer times a power of two


def _round_to_bits(mag: int, exp: int, fmt: FloatFormat) -> int:
    """Bit pattern (sign clear) of ``mag * 2**exp`` (``mag > 0``) rounded half to even."""
    p, qmin = fmt.precision, fmt.min_subnormal_exp
    top = mag.bit_length() - 1
    q = max(exp + top - p + 1, qmin)  # exponent of the last significand bit of the result
    s = q - exp
    if s <= 0:
        sig = mag << -s  # exact, fewer than p bits
    else:
        sig = mag >> s
        rem = mag & ((1 << s) - 1)
        half = 1 << (s - 1)
        if rem > half or (rem == half and sig & 1):
            sig += 1
    # (q - qmin) << (p-1) plus the significand (hidden bit included) is the IEEE encoding for
    # normal and subnormal results alike, and a carry out of the significand bumps the exponent.
    bits = ((q - qmin) << (p - 1)) + sig
    # IEEE round-to-nearest overflows exactly when the rounded value, with unbounded exponent,
    # exceeds max_finite, i.e. when its encoding reaches that of inf.
    return min(bits, fmt.inf_bits)


def round_exact(num: int, exp: int, dtype: str) -> Any:
    """``num * 2**exp`` rounded to nearest, ties to even, as a NumPy scalar of the float ``dtype``.

    Subnormal results are rounded correctly, overflow gives a signed infinity, and ``num == 0``
    gives ``+0.0`` (the caller owns the sign of an exact zero).

    >>> float(round_exact(2**24 + 1, 0, "float32")), float(round_exact(65520, 0, "float16"))
    (16777216.0, inf)
    """
    fmt = float_format(dtype)
    if num == 0:
        return _scalar_from_bits(0, fmt)
    bits = _round_to_bits(abs(num), exp, fmt)
    if num < 0:
        bits |= fmt.sign_bit
    return _scalar_from_bits(bits, fmt)


# --------------------------------------------------------------------------------------------
# decomposition of floats from their bits


@dataclass(frozen=True)
class _Parts:
    """Every element as ``sig * 2**(fmt.min_subnormal_exp + k)`` plus its special-value class."""

    sig: IntArray  # signed significand, 0 for NaN/inf
    k: IntArray  # exponent offset >= 0 (0 for NaN/inf)
    nan: BoolArray
    posinf: BoolArray
    neginf: BoolArray
    negzero: BoolArray
    subnormal: BoolArray


def _decompose(a: npt.NDArray[Any], fmt: FloatFormat) -> _Parts:
    p = fmt.precision
    u = np.ascontiguousarray(a).view(_uint_dtype(fmt.bits)).astype(np.uint64)
    sign = (u >> np.uint64(fmt.bits - 1)).astype(bool)
    biased = ((u >> np.uint64(p - 1)) & np.uint64(fmt.exponent_mask)).astype(np.int64)
    mant = (u & np.uint64((1 << (p - 1)) - 1)).astype(np.int64)
    special = biased == fmt.exponent_mask
    sig = np.where(special, 0, mant + np.where(biased > 0, np.int64(1 << (p - 1)), np.int64(0)))
    sig = np.where(sign, -sig, sig).astype(np.int64)
    k = np.where(special, 0, np.maximum(biased, 1) - 1).astype(np.int64)
    inf = special & (mant == 0)
    return _Parts(
        sig=sig,
        k=k,
        nan=special & (mant != 0),
        posinf=inf & ~sign,
        neginf=inf & sign,
        negzero=u == np.uint64(fmt.sign_bit),
        subnormal=(biased == 0) & (mant != 0),
    )


def _scaled_sum(sig: IntArray, k: IntArray, fmt: FloatFormat) -> int:
    """Exact ``Σ sig_i * 2**k_i`` as a Python int (1-D inputs)."""
    nbins = fmt.exponent_mask
    neg = sig < 0
    mag = np.abs(sig)
    total = 0
    piece_mask = np.int64((1 << _PIECE_BITS) - 1)
    for shift in range(0, fmt.precision, _PIECE_BITS):
        piece = ((mag >> np.int64(shift)) & piece_mask).astype(np.float64)
        weights = np.where(neg, -piece, piece)
        for start in range(0, max(len(k), 1), _BINCOUNT_CHUNK):
            stop = start + _BINCOUNT_CHUNK
            sums = np.bincount(k[start:stop], weights=weights[start:stop], minlength=nbins)
            for idx in np.flatnonzero(sums).tolist():
                total += int(sums[idx]) << (idx + shift)
    return total


# --------------------------------------------------------------------------------------------
# exact sum of a 1-D array


def exact_sum(values: npt.NDArray[Any], out_dtype: str) -> Any:
    """Exact sum of all elements of ``values``, correctly rounded to ``out_dtype``; a NumPy scalar.

    Float and complex outputs expect ``values`` already cast to ``out_dtype`` (complex: rounded per
    component). Integer outputs take bool/integer input and wrap the Python-int sum; a ``"bool"``
    output is the logical or of the elements cast to bool. IEEE 754 rules: any NaN, or both
    infinities, give NaN; otherwise an infinity wins; an exact zero is ``-0.0`` only when every
    addend is ``-0.0`` (and there is one); the empty sum is ``+0.0``; only the final rounded value
    can overflow.

    >>> import numpy as np
    >>> float(exact_sum(np.array([0.1] * 10), "float64"))
    1.0
    >>> float(exact_sum(np.array([-0.0, -0.0]), "float64"))
    -0.0
    """
    x = np.asarray(values).reshape(-1)
    if out_dtype in COMPLEX_COMPONENT:
        _check_float_input(x, out_dtype, "exact_sum")
        comp = COMPLEX_COMPONENT[out_dtype]
        out = np.zeros((), dtype=_np_dtype(out_dtype))
        out.real = exact_sum(np.ascontiguousarray(x.real), comp)
        out.imag = exact_sum(np.ascontiguousarray(x.imag), comp)
        return out[()]
    if out_dtype in FLOAT_DTYPES:
        _check_float_input(x, out_dtype, "exact_sum")
        fmt = float_format(out_dtype)
        parts = _decompose(x, fmt)
        has_pos, has_neg = bool(parts.posinf.any()), bool(parts.neginf.any())
        if parts.nan.any() or (has_pos and has_neg):
            return _scalar_from_bits(fmt.nan_bits, fmt)
        if has_pos or has_neg:
            return _scalar_from_bits(fmt.inf_bits | (fmt.sign_bit if has_neg else 0), fmt)
        total = _scaled_sum(parts.sig, parts.k, fmt)
        if total == 0:
            negative = x.size > 0 and bool(parts.negzero.all())
            return _scalar_from_bits(fmt.sign_bit if negative else 0, fmt)
        return round_exact(total, fmt.min_subnormal_exp, out_dtype)
    if out_dtype == "bool" or out_dtype in INT_DTYPES:
        _check_int_input(x, "exact_sum", out_dtype)
        return _int_sum_rows(x.reshape(1, -1), out_dtype)[0]
    raise DTypeError(f"exact_sum: out_dtype {out_dtype!r} is not one of {_ALL_DTYPES}")


def exact_cumsum(values: npt.NDArray[Any], out_dtype: str) -> npt.NDArray[Any]:
    """Every prefix sum of the 1-D ``values``, each exact and correctly rounded to ``out_dtype``.

    The special-value rules of :func:`exact_sum` apply per prefix.

    >>> import numpy as np
    >>> exact_cumsum(np.array([-0.0, -0.0, 0.0, np.inf]), "float64").tolist()
    [-0.0, -0.0, 0.0, inf]
    """
    x = np.asarray(values)
    if x.ndim != 1:
        raise UnireduceValueError(f"exact_cumsum: values must be 1-D, got shape {x.shape}")
    return exact_cumsum_along(x, 0, out_dtype)


def _check_float_input(x: npt.NDArray[Any], out_dtype: str, func: str) -> None:
    if x.dtype != _np_dtype(out_dtype):
        raise DTypeError(
            f"{func}: for float output dtype {out_dtype!r} the input must already be cast to it, "
            f"got {x.dtype!s}"
        )


# --------------------------------------------------------------------------------------------
# limb engine: many exact (prefix) sums at once


def _normalize_limbs(s: IntArray) -> None:
    """Propagate carries in place so limbs ``0..L-2`` lie in ``[0, 2**32)``; the top is signed."""
    for j in range(s.shape[0] - 1):
        carry = s[j] >> 32  # arithmetic shift: floor division by 2**32
        s[j] &= _M32
        s[j + 1] += carry


def _limb_contributions(sig: IntArray, r: IntArray, nlimbs: int) -> IntArray:
    """``(nlimbs, n)`` limbs of ``sig_i * 2**r_i`` (each of magnitude below 2**33)."""
    n = sig.shape[0]
    neg = sig < 0
    mag = np.abs(sig)
    off = r & 31
    j0 = r >> 5
    lo = (mag & _M32) << off  # < 2**63
    hi = (mag >> 32) << off  # < 2**52
    c0 = lo & _M32
    c1 = (lo >> 32) + (hi & _M32)
    c2 = hi >> 32
    out = np.zeros((nlimbs, n), dtype=np.int64)
    cols = np.arange(n)
    out[j0, cols] = np.where(neg, -c0, c0)
    out[j0 + 1, cols] = np.where(neg, -c1, c1)
    out[j0 + 2, cols] = np.where(neg, -c2, c2)
    return out


def _round_limbs(
    s: IntArray, base: int, target: FloatFormat, mode: RoundMode
) -> tuple[UIntArray, BoolArray]:
    """Round non-negative limb vectors ``s`` (value ``Σ s[j]·2**(32j)·2**base``) to ``target``.

    Returns the bit patterns (sign clear, as uint64) and the mask of exact zeros. ``mode="up"``
    rounds magnitudes away from zero and ``mode="down"`` toward zero (saturating at the largest
    finite); both serve only the error bounds.
    """
    p, qmin = target.precision, target.min_subnormal_exp
    nlimbs = s.shape[0]
    nz = s != 0
    zero = ~nz.any(axis=0)
    top = (nlimbs - 1) - np.argmax(nz[::-1], axis=0).astype(np.int64)
    low = np.argmax(nz, axis=0).astype(np.int64)

    def limb(i: IntArray) -> UIntArray:
        v = np.take_along_axis(s, np.maximum(i, 0)[None], axis=0)[0]
        return np.where(i >= 0, v, 0).astype(np.uint64)

    a0, a1, a2 = limb(top), limb(top - 1), limb(top - 2)
    bl = np.maximum(np.frexp(a0.astype(np.float64))[1].astype(np.int64), 1)  # bit length of a0
    blu = bl.astype(np.uint64)
    # The 64 bits of the magnitude from its leading bit down.
    t64 = (a0 << (np.uint64(64) - blu)) | (a1 << (np.uint64(32) - blu)) | (a2 >> blu)
    extra = ((a2 & ((np.uint64(1) << blu) - np.uint64(1))) != 0) | (low < top - 2)
    lead = 32 * top + bl - 1  # position of the leading bit in the limb integer
    q = np.maximum(lead + base - p + 1, qmin)  # exponent of the result's last bit
    d = 63 - lead + (q - base)  # bits of t64 below the result's last bit; always >= 64 - p
    sig = np.where(d >= 64, np.uint64(0), t64 >> np.minimum(d, 63).astype(np.uint64))
    rshift = np.clip(d - 1, 0, 63).astype(np.uint64)
    rbit = np.where(d >= 65, np.uint64(0), (t64 >> rshift) & np.uint64(1))
    below = np.where(d >= 65, t64 != 0, (t64 & ((np.uint64(1) << rshift) - np.uint64(1))) != 0)
    sticky = extra | below
    if mode == "nearest":
        inc = (rbit == 1) & (sticky | ((sig & np.uint64(1)) == 1))
    elif mode == "up":
        inc = (rbit == 1) | sticky
    else:
        inc = np.zeros(sig.shape, dtype=bool)
    sig = sig + inc.astype(np.uint64)
    qrel = np.minimum(q - qmin, target.exponent_mask).astype(np.uint64)
    bits = (qrel << np.uint64(p - 1)) + sig
    cap = target.inf_bits - 1 if mode == "down" else target.inf_bits
    bits = np.minimum(bits, np.uint64(cap))
    return np.where(zero, np.uint64(0), bits), zero


def _limb_reduce(
    sig: IntArray,
    k: IntArray,
    src: FloatFormat,
    cumulative: bool,
    target: FloatFormat,
    mode: RoundMode,
) -> tuple[UIntArray, BoolArray]:
    """Exact row sums (or row prefix sums) of ``sig * 2**(src.qmin + k)`` (shape ``(M, K)``, K>0).

    Returns the signed bit patterns in ``target`` (as uint64, shape ``(M,)`` or ``(M, K)``) and the
    mask of exact zeros (whose sign the caller sets).
    """
    m, kk = sig.shape
    out_shape = (m, kk) if cumulative else (m,)
    bits_out = np.zeros(out_shape, dtype=np.uint64)
    zero_out = np.ones(out_shape, dtype=bool)
    used = sig != 0
    if not used.any():
        return bits_out, zero_out
    kmin = int(k[used].min())
    rmax = int(k[used].max()) - kmin
    base = src.min_subnormal_exp + kmin
    # Room for the largest shifted significand, the growth of a sum of kk terms, a sign and the
    # two limbs a contribution can spill into.
    nlimbs = (rmax + src.precision + kk.bit_length() + 2) // 32 + 3
    r_all = np.where(used, k - kmin, 0)
    cols = max(1, min(kk, _BLOCK_ENTRIES // nlimbs))
    rows = max(1, min(m, _BLOCK_ENTRIES // (nlimbs * cols)))
    sign_bit = np.uint64(target.sign_bit)

    def finish(s: IntArray) -> tuple[UIntArray, BoolArray]:
        neg = s[-1] < 0
        mag = np.where(neg[None], -s, s)
        _normalize_limbs(mag)
        bits, zero = _round_limbs(mag, base, target, mode)
        return np.where(neg & ~zero, bits | sign_bit, bits), zero

    for r0 in range(0, m, rows):
        r1 = min(m, r0 + rows)
        carry = np.zeros((nlimbs, r1 - r0), dtype=np.int64)
        for c0 in range(0, kk, cols):
            c1 = min(kk, c0 + cols)
            blk_sig = sig[r0:r1, c0:c1].reshape(-1)
            blk_r = r_all[r0:r1, c0:c1].reshape(-1)
            contrib = _limb_contributions(blk_sig, blk_r, nlimbs)
            contrib = contrib.reshape(nlimbs, r1 - r0, c1 - c0)
            if cumulative:
                contrib[:, :, 0] += carry
                np.cumsum(contrib, axis=2, out=contrib)
                _normalize_limbs(contrib)
                carry = contrib[:, :, -1].copy()
                bits, zero = finish(contrib)
                bits_out[r0:r1, c0:c1] = bits
                zero_out[r0:r1, c0:c1] = zero
            else:
                carry = contrib.sum(axis=2) + carry
                _normalize_limbs(carry)
        if not cumulative:
            bits, zero = finish(carry)
            bits_out[r0:r1] = bits
            zero_out[r0:r1] = zero
    return bits_out, zero_out


def _float_rows(x2: npt.NDArray[Any], out_dtype: str, cumulative: bool) -> npt.NDArray[Any]:
    """Exact row sums / prefix sums of the 2-D float array ``x2`` (dtype ``out_dtype``)."""
    fmt = float_format(out_dtype)
    m, kk = x2.shape
    if kk == 0:
        return np.zeros((m, 0) if cumulative else (m,), dtype=_np_dtype(out_dtype))
    parts = _decompose(x2, fmt)
    bits, zero = _limb_reduce(parts.sig, parts.k, fmt, cumulative, fmt, "nearest")
    if cumulative:
        nan = np.logical_or.accumulate(parts.nan, axis=1)
        pinf = np.logical_or.accumulate(parts.posinf, axis=1)
        ninf = np.logical_or.accumulate(parts.neginf, axis=1)
        allneg0 = np.logical_and.accumulate(parts.negzero, axis=1)
    else:
        nan = np.asarray(parts.nan.any(axis=1))
        pinf = np.asarray(parts.posinf.any(axis=1))
        ninf = np.asarray(parts.neginf.any(axis=1))
        allneg0 = np.asarray(parts.negzero.all(axis=1))
    signed_zero = np.where(allneg0, np.uint64(fmt.sign_bit), np.uint64(0))
    bits = np.where(zero, signed_zero, bits)
    bits = np.where(pinf, np.uint64(fmt.inf_bits), bits)
    bits = np.where(ninf, np.uint64(fmt.inf_bits | fmt.sign_bit), bits)
    bits = np.where(nan | (pinf & ninf), np.uint64(fmt.nan_bits), bits)
    return _from_bits(bits, fmt)


def _rows(x2: npt.NDArray[Any], out_dtype: str, cumulative: bool, func: str) -> npt.NDArray[Any]:
    if out_dtype in COMPLEX_COMPONENT:
        _check_float_input(x2, out_dtype, func)
        comp = COMPLEX_COMPONENT[out_dtype]
        re = _float_rows(np.ascontiguousarray(x2.real), comp, cumulative)
        im = _float_rows(np.ascontiguousarray(x2.imag), comp, cumulative)
        out = np.empty(re.shape, dtype=_np_dtype(out_dtype))
        out.real, out.imag = re, im
        return out
    if out_dtype in FLOAT_DTYPES:
        _check_float_input(x2, out_dtype, func)
        return _float_rows(x2, out_dtype, cumulative)
    if out_dtype == "bool" or out_dtype in INT_DTYPES:
        _check_int_input(x2, func, out_dtype)
        return _int_cumsum_rows(x2, out_dtype) if cumulative else _int_sum_rows(x2, out_dtype)
    raise DTypeError(f"{func}: out_dtype {out_dtype!r} is not one of {_ALL_DTYPES}")


def _normalize_axis(axis: int, ndim: int, func: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise AxisError(f"{func}: axis {axis!r} is not an integer")
    if not -ndim <= axis < ndim:
        raise AxisError(f"{func}: axis {axis} is out of range for an array of ndim {ndim}")
    return int(axis) % ndim


def exact_sum_along(
    x: npt.NDArray[Any], axes: tuple[int, ...], keepdims: bool, out_dtype: str
) -> npt.NDArray[Any]:
    """Exact, correctly rounded sums of ``x`` over ``axes``; an ndarray (0-d for a full reduction).

    Floats: ``x`` is already cast to ``out_dtype``. Integers: ``x`` is the bool/int input, its
    Python-int sums are wrapped to ``out_dtype``. An empty reduction gives zeros.

    >>> import numpy as np
    >>> exact_sum_along(np.array([[1, 2], [3, 4]], dtype=np.int8), (0,), False, "int8").tolist()
    [4, 6]
    >>> exact_sum_along(np.ones((2, 0), np.float32), (1,), True, "float32").shape
    (2, 1)
    """
    func = "exact_sum_along"
    arr = np.asarray(x)
    norm = tuple(_normalize_axis(a, arr.ndim, func) for a in axes)
    if len(set(norm)) != len(norm):
        raise AxisError(f"{func}: axes {axes} contain a duplicate")
    keep = [a for a in range(arr.ndim) if a not in norm]
    moved = np.transpose(arr, keep + sorted(norm))
    kept_shape = tuple(arr.shape[a] for a in keep)
    m = math.prod(kept_shape)
    kk = math.prod(arr.shape[a] for a in norm)
    res = _rows(moved.reshape(m, kk), out_dtype, False, func)
    if keepdims:
        shape = tuple(1 if a in norm else arr.shape[a] for a in range(arr.ndim))
    else:
        shape = kept_shape
    return np.asarray(res.reshape(shape))


def exact_cumsum_along(x: npt.NDArray[Any], axis: int, out_dtype: str) -> npt.NDArray[Any]:
    """Exact, correctly rounded prefix sums of ``x`` along ``axis`` (same shape, ``out_dtype``).

    >>> import numpy as np
    >>> exact_cumsum_along(np.array([[1.0, 2.0], [3.0, 4.0]]), 0, "float64").tolist()
    [[1.0, 2.0], [4.0, 6.0]]
    """
    func = "exact_cumsum_along"
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise AxisError(f"{func}: axis {axis} is out of range for a 0-d array")
    ax = _normalize_axis(axis, arr.ndim, func)
    moved = np.moveaxis(arr, ax, -1)
    shape = moved.shape
    res = _rows(moved.reshape(math.prod(shape[:-1]), shape[-1]), out_dtype, True, func)
    return np.moveaxis(res.reshape(shape), -1, ax)


# --------------------------------------------------------------------------------------------
# error bounds for native-precision results


def _floor_log2(x: Fraction) -> int:
    """``floor(log2(x))`` for ``x > 0``."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1
    return e


def _ulp(m: Fraction, fmt: FloatFormat) -> Fraction:
    """ulp of ``fmt`` at magnitude ``m`` (non-decreasing in ``m``)."""
    if m < fmt.smallest_normal:
        return fmt.smallest_subnormal
    return Fraction(2) ** (_floor_log2(m) - fmt.precision + 1)


def _fraction_up(x: Fraction) -> float:
    """The smallest float64 >= ``x`` (``inf`` beyond the float64 range)."""
    try:
        f = float(x)  # correctly rounded to nearest
    except OverflowError:
        return math.inf
    if Fraction(f) < x:
        f = math.nextafter(f, math.inf)
    return f


def _fraction_down(x: Fraction) -> float:
    """The largest float64 <= ``x`` (for ``x > 0``; the largest finite beyond the range)."""
    try:
        f = float(x)
    except OverflowError:
        return sys.float_info.max
    if Fraction(f) > x:
        f = math.nextafter(f, -math.inf)
    return f


def _real_float_input(values: npt.NDArray[Any], func: str) -> tuple[npt.NDArray[Any], FloatFormat]:
    x = np.asarray(values).reshape(-1)
    name = _dtype_name(x.dtype, func)
    if name not in FLOAT_DTYPES:
        raise DTypeError(
            f"{func}: values must have a real float dtype, got {name}; call it on .real and "
            ".imag separately for complex data"
        )
    return x, float_format(name)


def _flush_mask(x: npt.NDArray[Any], parts: _Parts, acc: FloatFormat) -> BoolArray:
    """Finite nonzero values below the smallest normal of their own dtype or of the accumulator."""
    tiny = float(acc.smallest_normal)
    mag = np.abs(x.astype(np.float64))
    return parts.subnormal | ((parts.sig != 0) & (mag < tiny))


def _overflow_threshold(fmt: FloatFormat) -> Fraction:
    """Round-to-nearest gives an infinity exactly from this magnitude up (max + half an ulp)."""
    return Fraction(2) ** (fmt.emax + 1) - Fraction(2) ** (fmt.emax - fmt.precision)


def sum_error_bound(
    values: npt.NDArray[Any], acc_dtype: str, out_dtype: str, flush_subnormals: bool
) -> float:
    """Upper bound on ``|native sum - exact_sum(values, out_dtype)|`` for a correct backend.

    ``values`` are the real floats the backend adds (representable in ``acc_dtype``). With
    ``A = Σ|x_i|``, ``s`` the exact sum and ``n`` the count of finite nonzero ``x_i`` (adding a
    zero is exact), the native accumulator result is within ``N`` of ``s``, where ``N`` is

    * ``(n-1)·u_acc·A``, valid for every order of evaluation (Rump, BIT 52, 2012),
    * plus, if ``flush_subnormals``, ``Σ|x_i|`` over the inputs that are subnormal in their dtype
      or in the accumulator, and ``(n-1)`` smallest normals of the accumulator (flushed
      intermediate sums).

    The bound adds to ``N`` half an ulp of ``out_dtype`` for the rounding of the reference and,
    when ``acc_dtype != out_dtype``, another half ulp for the native result's final rounding.
    Both are taken at magnitude ``|s| + N``, which is at least the magnitude of the exact and of
    the native result (the larger of the two neighbourhoods, as ulps grow with magnitude). With
    ``flush_subnormals`` it also adds the smallest normal of the output (a flushed result).

    The bound is computed exactly and rounded up to a float64. It is ``inf`` (anything passes)
    when an intermediate sum may overflow the accumulator (``A + N >= 2**(emax_acc+1)``), when
    ``[|s| - N, |s| + N]`` straddles the output's overflow threshold (max finite plus half an ulp:
    the result may or may not be infinite), or when the bound exceeds the output's max finite. If
    ``|s| - N`` is beyond the threshold the bound stays finite and the result must be the same
    infinity as the reference. With no finite nonzero value the bound is 0. Infinite and NaN
    inputs are left out (the result then has to match the reference exactly).

    >>> import numpy as np
    >>> sum_error_bound(np.array([1.0, 2.0**-24], np.float32), "float32", "float32", False)
    1.1920929310349493e-07
    """
    func = "sum_error_bound"
    x, fin = _real_float_input(values, func)
    acc, out = float_format(acc_dtype), float_format(out_dtype)
    parts = _decompose(x, fin)
    n = int(np.count_nonzero(parts.sig))
    if n == 0:
        return 0.0
    scale = fin.smallest_subnormal
    a = _scaled_sum(np.abs(parts.sig), parts.k, fin) * scale
    s = abs(_scaled_sum(parts.sig, parts.k, fin)) * scale
    native = (n - 1) * acc.unit_roundoff * a
    if flush_subnormals:
        flushed = _flush_mask(x, parts, acc)
        native += _scaled_sum(np.where(flushed, np.abs(parts.sig), 0), parts.k, fin) * scale
        native += (n - 1) * acc.smallest_normal
    if a + native >= Fraction(2) ** (acc.emax + 1):
        return math.inf
    threshold = _overflow_threshold(out)
    if s + native >= threshold > s - native:
        return math.inf
    half_ulps = 1 if acc_dtype == out_dtype else 2
    bound = native + half_ulps * _ulp(s + native, out) / 2
    if flush_subnormals:
        bound += out.smallest_normal
    if bound > out.max_finite:
        return math.inf
    return _fraction_up(bound)


def _up(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Next float64 toward +inf: after a round-to-nearest operation this is an upper bound."""
    return np.nextafter(x, np.inf)


def _down(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Next float64 toward -inf: after a round-to-nearest operation this is a lower bound."""
    return np.nextafter(x, -np.inf)


def cumsum_error_bounds(
    values: npt.NDArray[Any], acc_dtype: str, out_dtype: str, flush_subnormals: bool
) -> npt.NDArray[np.float64]:
    """:func:`sum_error_bound` of every prefix of the 1-D ``values`` (float64, same length).

    Vectorised: the exact prefix sums are rounded up (or down, where a lower bound is needed) to
    float64 and every later float64 operation is followed by a step to the next float in the safe
    direction, so each entry is at least the exact :func:`sum_error_bound` of its prefix (and at
    most a few float64 ulps larger, or ``inf`` right at an overflow threshold).

    >>> import numpy as np
    >>> b = cumsum_error_bounds(np.array([1.0, 2.0**-24], np.float32), "float32", "float32", False)
    >>> bool(b[0] >= 2.0**-24 and b[1] >= 2.0**-23 + 2.0**-48)
    True
    """
    func = "cumsum_error_bounds"
    x, fin = _real_float_input(values, func)
    acc, out = float_format(acc_dtype), float_format(out_dtype)
    f64 = float_format("float64")
    if x.size == 0:
        return np.zeros(0, dtype=np.float64)
    parts = _decompose(x, fin)
    sig2, k2 = parts.sig.reshape(1, -1), parts.k.reshape(1, -1)

    def prefix(sig: IntArray, mode: RoundMode) -> npt.NDArray[np.float64]:
        bits, _ = _limb_reduce(sig, k2, fin, True, f64, mode)
        return (bits[0] & np.uint64(f64.sign_bit - 1)).view(np.float64)  # magnitude

    a_up = prefix(np.abs(sig2), "up")
    s_up, s_down = prefix(sig2, "up"), prefix(sig2, "down")
    n = np.cumsum(parts.sig != 0)
    nm1 = np.maximum(n - 1, 0).astype(np.float64)
    threshold = _overflow_threshold(out)
    thr_low, thr_high = _fraction_down(threshold), _fraction_up(threshold)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        native = _up(_up(nm1 * a_up) * float(acc.unit_roundoff))
        if flush_subnormals:
            flushed = _flush_mask(x, parts, acc).reshape(1, -1)
            fl_up = prefix(np.where(flushed, np.abs(sig2), 0), "up")
            native = _up(native + _up(fl_up + _up(nm1 * float(acc.smallest_normal))))
        mag = _up(s_up + native)
        _, e = np.frexp(np.where(np.isfinite(mag), mag, 1.0))
        ulp = np.where(
            mag < float(out.smallest_normal),
            float(out.smallest_subnormal),
            np.ldexp(1.0, (e - out.precision).astype(np.int32)),
        )
        half_ulps = 0.5 if acc_dtype == out_dtype else 1.0
        bound = _up(native + _up(half_ulps * ulp))
        if flush_subnormals:
            bound = _up(bound + float(out.smallest_normal))
        acc_overflow = _up(a_up + native) >= _fraction_up(Fraction(2) ** (acc.emax + 1))
        surely_inf = _down(s_down - native) >= thr_high
        straddle = (mag >= thr_low) & ~surely_inf
        too_big = (bound > float(out.max_finite)) | ~np.isfinite(mag)
    bound = np.where(acc_overflow | straddle | too_big, np.inf, bound)
    return np.where(n == 0, 0.0, bound)


def within_bound_mask(
    actual: npt.ArrayLike,
    exact: npt.ArrayLike,
    bound: npt.ArrayLike,
    *,
    match_zero_sign: bool = False,
) -> BoolArray:
    """Elementwise: does ``actual`` match the reference ``exact`` within ``bound``?

    NaN matches only NaN (always: a NaN reference means a NaN input or both infinities, and every
    order of IEEE additions then gives NaN); otherwise an infinite ``bound`` accepts anything; an
    infinite reference needs the same infinity; else ``|actual - exact| <= bound`` is decided
    exactly (a float64 estimate, and :class:`~fractions.Fraction` where that is too close to
    call). Zeros of either sign are equal unless ``match_zero_sign``. Complex arrays are checked
    per component against the same bound.

    >>> within_bound_mask([1.0, 2.5, float("nan")], [1.0, 2.0, float("nan")], 0.25).tolist()
    [True, False, True]
    """
    a, e = np.asarray(actual), np.asarray(exact)
    if a.dtype.kind == "c" or e.dtype.kind == "c":
        re = within_bound_mask(np.real(a), np.real(e), bound, match_zero_sign=match_zero_sign)
        im = within_bound_mask(np.imag(a), np.imag(e), bound, match_zero_sign=match_zero_sign)
        return re & im
    a64, e64, b = (
        np.ravel(v)
        for v in np.broadcast_arrays(
            a.astype(np.float64), e.astype(np.float64), np.asarray(bound, dtype=np.float64)
        )
    )
    shape = np.broadcast_shapes(a.shape, e.shape, np.shape(bound))
    ok = np.zeros(a64.shape, dtype=bool)
    e_nan, e_inf = np.isnan(e64), np.isinf(e64)
    ok |= e_nan & np.isnan(a64)
    ok |= e_inf & (a64 == e64)
    both_fin = np.isfinite(e64) & np.isfinite(a64)
    with np.errstate(over="ignore", invalid="ignore"):
        diff = np.abs(a64 - e64)  # relative error <= 2**-53; exact when subnormal
        sure_pass = both_fin & (diff <= b * (1 - 2.0**-50))
        sure_fail = diff >= b * (1 + 2.0**-50)
    ok |= sure_pass
    for i in np.flatnonzero(both_fin & ~sure_pass & ~sure_fail).tolist():
        dist = abs(Fraction(float(a64[i])) - Fraction(float(e64[i])))
        ok[i] = dist <= Fraction(float(b[i]))
    if match_zero_sign:
        zeros = (a64 == 0) & (e64 == 0)
        ok &= ~zeros | (np.signbit(a64) == np.signbit(e64))
    ok |= np.isposinf(b) & ~e_nan
    return ok.reshape(shape)


def within_bound(
    actual: npt.ArrayLike,
    exact: npt.ArrayLike,
    bound: npt.ArrayLike,
    *,
    match_zero_sign: bool = False,
) -> bool:
    """Whether every element of ``actual`` is within ``bound`` of ``exact`` (see the mask form).

    >>> within_bound([0.0], [-0.0], 0.0), within_bound([0.0], [-0.0], 0.0, match_zero_sign=True)
    (True, False)
    """
    return bool(within_bound_mask(actual, exact, bound, match_zero_sign=match_zero_sign).all())
