"""Correctly rounded casts to a float dtype, for exact mode's ``dtype=`` (issue 5).

Exact mode casts its input to the output dtype first (as the reference does), and that cast
must be the same everywhere: rounded once, half to even, subnormals kept. The frameworks' own
casts are not: torch, TF and JAX cast float64 (and int64) to bfloat16 and float16 through
float32, rounding twice (1 + 2**-8 + 2**-40 became 1.0, not 1 + 2**-7), and TF and JAX flush
subnormal inputs and results on CPU (a float32 subnormal cast to float64 became 0). Such casts
are done here with integer operations on the bit patterns, in the adapter primitives of the
portable path; casts that are exact (widening, on a backend that does not flush) stay the
framework's own.

>>> import numpy as np
>>> from unireduce._registry import backend_of
>>> x = np.array([1 + 2**-8 + 2**-40, -1.25 * 2.0**-130])
>>> exact_cast(backend_of(x), x, "float64", "bfloat16").astype(np.float64).tolist()
[1.0078125, -9.183549615799121e-40]
"""

from __future__ import annotations

from typing import Any

from unireduce._backend import Backend
from unireduce._dtypes import BITS, COMPLEX_COMPONENT, KIND

from ._formats import FORMATS, Lanes
from ._portable import _bitlen
from ._state import float_fits

__all__ = ["exact_cast", "needs_exact_cast"]

Array = Any


def needs_exact_cast(be: Backend, src: str, out: str) -> bool:
    """Whether the framework's cast of ``src`` to the float or complex ``out`` may differ from
    the correctly rounded one (so :func:`exact_cast` must do it)."""
    src, out = COMPLEX_COMPONENT.get(src, src), COMPLEX_COMPONENT.get(out, out)
    if src == out:
        return False
    if src in FORMATS:
        flushes = bool(be.capabilities.flushes_subnormals)  # on any device kind
        return flushes or not float_fits(src, out)
    # Integers of at most p bits convert exactly; uint32 and uint64 need int64 lanes (where
    # there are none the framework's cast stays).
    if src in ("uint32", "uint64") and "int64" not in be.supported_dtypes():
        return False
    magnitude = BITS[src] - (KIND[src] == "i")  # bits of the largest |value| (bool: 8, harmless)
    return magnitude > FORMATS[out].p


def exact_cast(be: Backend, x: Array, src: str, out: str) -> Array:
    """``x`` (dtype ``src``: a float, complex, integer or bool type) cast to the float or
    complex ``out``, every element rounded once, half to even; NaN to the default NaN (payloads
    are not kept)."""
    if out in COMPLEX_COMPONENT:
        part = COMPLEX_COMPONENT[out]
        if src in COMPLEX_COMPONENT:
            re = exact_cast(be, be.real(x), COMPLEX_COMPONENT[src], part)
            im = exact_cast(be, be.imag(x), COMPLEX_COMPONENT[src], part)
            return be.make_complex(re, im)
        re = exact_cast(be, x, src, part)
        ints = be.bitcast(re, be.native_dtype(f"int{FORMATS[part].nbits}"))
        return be.make_complex(re, be.bitcast(ints * 0, re.dtype))  # +0.0 (inf * 0 is NaN)
    fo = FORMATS[out]
    wide = max(fo.nbits, BITS[src]) > 32
    wide = wide or src == "uint32"  # its values above 2**31 need int64 lanes
    lanes = Lanes("int64", 64, 32) if wide else Lanes("int32", 32, 16)
    lane = be.native_dtype(lanes.name)
    nan = inf = None
    if src in FORMATS:
        fs = FORMATS[src]
        u = be.bitcast(x, be.native_dtype(f"int{fs.nbits}"))
        if fs.nbits != lanes.bits:
            u = be.astype(u, lane)  # sign-extending
        neg = u < 0
        eb = be.bitwise_and(be.shift_right(u, fs.p - 1), fs.emask)
        mant = be.bitwise_and(u, (1 << (fs.p - 1)) - 1)
        special = eb == fs.emask
        nan, inf = special & (mant != 0), special & (mant == 0)
        sig = be.where(special, 0, mant + be.shift_left(be.clip(eb, 0, 1), fs.p - 1))
        e0 = be.clip(eb, 1, fs.emask) - 1 + fs.qmin  # sig's unit is 2**e0
    elif src == "uint64":
        # Values from 2**63 read as negative int64: halved, the dropped bit kept as a sticky bit
        # (p <= 53 bits survive, so it only decides ties), with 2**e0 = 2. torch, TF and JAX cast
        # uint64 to bfloat16 through float32: 2**63 + 2**55 + 2**23 became 2**63, not 2**63 + 2**56.
        v = be.bitcast(x, lane)
        big = v < 0
        half = be.bitwise_and(be.shift_right(v, 1), (1 << 62) - 1) + (1 << 62)
        low = be.bitwise_and(v, 1)
        sig = be.where(big, half + low * (1 - be.bitwise_and(half, 1)), v)
        e0 = be.where(big, v * 0 + 1, v * 0)
        neg = v != v  # all False
    else:
        v = be.astype(x, lane)
        neg = v < 0
        low = -(1 << (lanes.bits - 1))
        # |v|, except for the most negative value (no positive counterpart): half of it, 2**e0 = 2.
        sig = be.where(v == low, -(low // 2), be.where(neg, -v, v))
        e0 = be.where(v == low, v * 0 + 1, v * 0)
    lead = _bitlen(be, sig, lanes) - 1 + e0
    qe = be.where(lead - (fo.p - 1) > fo.qmin, lead - (fo.p - 1), fo.qmin)  # the result's unit
    shift = qe - e0  # bits of sig below the result's unit
    s = be.clip(shift, 0, lanes.bits - 2)
    s1 = be.clip(shift - 1, 0, lanes.bits - 2)
    kept = be.shift_right(sig, s)
    rbit = be.where(shift >= 1, be.bitwise_and(be.shift_right(sig, s1), 1), 0)
    sticky = (sig - be.shift_left(be.shift_right(sig, s1), s1)) != 0
    inc = be.where(sticky, rbit, rbit * be.bitwise_and(kept, 1))
    m = be.where(shift > 0, kept + inc, be.shift_left(sig, be.clip(-shift, 0, lanes.bits - 2)))
    # A carry out of the significand moves into the exponent field by itself.
    bits = be.clip(be.shift_left(qe - fo.qmin, fo.p - 1) + m, 0, fo.inf_bits)
    bits = be.where(sig == 0, 0, bits)
    if inf is not None and nan is not None:
        bits = be.where(inf, fo.inf_bits, be.where(nan, fo.nan_bits, bits))
    signed = neg if nan is None else neg & ~nan
    out_bits = be.where(signed, bits + -(1 << (fo.nbits - 1)), bits)
    if fo.nbits != lanes.bits:
        out_bits = be.astype(out_bits, be.native_dtype(f"int{fo.nbits}"))
    return be.bitcast(out_bits, be.native_dtype(out))
