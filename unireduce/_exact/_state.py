"""A mergeable exact accumulator: the engine's integer digits on a fixed grid (the ``Sum`` metric).

:mod:`._portable` sums each output on a grid of ``w``-bit windows hanging from that output's own
largest exponent, then rounds. A running total needs the same digits on one *fixed* grid, so that
two totals add limb by limb: limb ``j`` holds the bits ``[bottom + w·j, bottom + w·(j+1))`` of the
exact value, the last limb is signed and takes the carries. The grid is sized at construction for
every product ``value × weight`` the metric accepts, so nothing is ever rounded before
:func:`round_float`, and adding states (merge, ``all_reduce``, ``psum``) is exactly associative.

The pieces come from the engine: its formats and lanes (:mod:`._formats`), its digit extraction
and its row sums of digits with the carry split (``_window_sums``), ``_bitlen`` and ``_shift``, and
its rounding steps. What is new here is only what a fixed grid needs: products of integer
significand pieces (no float multiplication, so no overflow, underflow or flush-to-zero), the
static window range of a dtype, and carry-lookahead normalisation, so that a state is read out in a
fixed, small number of array operations (a small graph under ``torch.compile``).

A state is one 1-D integer array of ``grid.size`` lanes: ``n`` limbs, then three flags (any NaN,
any +inf, any -inf). Between operations every limb but the last lies in ``[-1, 2**w]``.

>>> import numpy as np
>>> from unireduce._registry import backend_of
>>> x = np.array([0.1] * 10, dtype=np.float32)
>>> be = backend_of(x)
>>> g = grid_for("float32", be.supported_dtypes())
>>> acc = add(be, g, zeros_like(be, g, x), accumulate(be, g, x, "float32", None, None)[0])
>>> float(round_float(be, g, acc))
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unireduce._backend import Backend
from unireduce._dtypes import BITS, KIND

from ._formats import FORMATS, Lanes, lanes_for
from ._portable import _bitlen, _shift, _window_sums

__all__ = [
    "Grid",
    "accumulate",
    "add",
    "bit_range",
    "decode",
    "encode",
    "grid_for",
    "round_float",
    "round_int",
    "zeros_like",
]

Array = Any
NFLAGS = 3  # any NaN, any +inf, any -inf


@dataclass(frozen=True)
class Grid:
    """The fixed layout of an exact accumulator: ``n`` limbs of ``lanes.w`` bits from ``bottom``."""

    lanes: Lanes
    bottom: int  # absolute binary exponent of bit 0 of limb 0
    n: int  # limbs; the last is signed and unbounded (carries)

    @property
    def size(self) -> int:
        """Length of the state array: limbs then flags."""
        return self.n + NFLAGS

    @property
    def q(self) -> int:
        """Width of the significand pieces: a product of two pieces fits a lane."""
        return (self.lanes.bits - 2) // 2


def bit_range(dtype: str) -> tuple[int, int]:
    """``(lo, hi)``: every bit of every finite value of ``dtype`` lies in ``[2**lo, 2**hi)``.

    >>> bit_range("float32"), bit_range("int8"), bit_range("bool")
    ((-149, 128), (0, 8), (0, 1))
    """
    if dtype in FORMATS:
        f = FORMATS[dtype]
        return f.qmin, f.qmin + f.kmax + f.p
    if dtype == "bool":
        return 0, 1
    return 0, BITS[dtype]


def float_fits(d: str, out: str) -> bool:
    """Whether every value of float dtype ``d`` is a value of float dtype ``out``.

    >>> float_fits("float16", "float32"), float_fits("bfloat16", "float16")
    (True, False)
    """
    a, b = FORMATS[d], FORMATS[out]
    lo_d, hi_d = bit_range(d)
    lo_o, hi_o = bit_range(out)
    return a.p <= b.p and lo_d >= lo_o and hi_d <= hi_o


def grid_for(out: str, supported: frozenset[str]) -> Grid:
    """The grid of a ``Sum`` with result dtype ``out`` on a backend holding ``supported`` dtypes.

    A float result accepts floats no wider than ``out`` and integers of up to 64 bits (32 where
    the backend has no int64) as values and weights; an integer result accepts integers only.

    >>> g = grid_for("float32", frozenset({"int64"}))
    >>> (g.bottom, g.n, g.lanes.w)
    (-298, 19, 32)
    """
    lanes = lanes_for(supported)
    ibits = 64 if "int64" in supported else 32
    if out in FORMATS:
        lo, hi = bit_range(out)
        bottom, top = 2 * lo, max(2 * hi, hi + ibits, 2 * ibits)
    else:
        bottom, top = 0, 2 * ibits
    n = -(-(top - bottom) // lanes.w) + 1
    return Grid(lanes, bottom, n)


def zeros_like(be: Backend, grid: Grid, x: Array) -> Array:
    """A zero state on ``x``'s device, made from ``x`` with array ops (so it works traced too)."""
    lane = be.native_dtype(grid.lanes.name)
    z = be.pad_zero_front(be.astype(be.reshape(x, (-1,))[:0], lane), 0)
    return be.concat([z] * grid.size, 0)


# ------------------------------------------------------------------------------ decomposition
@dataclass
class _Pieces:
    """``x = Σ_t vals[t] · 2**exps[t]`` elementwise, ``|vals[t]| < 2**q``, plus special classes."""

    vals: list[Array]
    exps: list[Array | int]
    lo: int  # static bit range of the finite values
    hi: int
    nan: Array | None = None
    inf: Array | None = None
    neg: Array | None = None  # the sign bit (floats)
    zero: Array | None = None


def _pieces(be: Backend, grid: Grid, x: Array, dtype: str) -> _Pieces:
    lanes = grid.lanes
    lane = be.native_dtype(lanes.name)
    q = grid.q
    qmask = (1 << q) - 1
    lo, hi = bit_range(dtype)
    if dtype in FORMATS:
        fmt = FORMATS[dtype]
        p = fmt.p
        u = be.bitcast(x, be.native_dtype(f"int{fmt.nbits}"))
        if fmt.nbits != lanes.bits:
            u = be.astype(u, lane)  # sign-extending: the sign bit becomes the lane's sign
        neg = u < 0
        eb = be.bitwise_and(be.shift_right(u, p - 1), fmt.emask)
        mant = be.bitwise_and(u, (1 << (p - 1)) - 1)
        special = eb == fmt.emask
        sig = be.where(special, 0, mant + be.shift_left(be.clip(eb, 0, 1), p - 1))
        e0 = be.clip(eb, 1, fmt.kmax + 1) + (fmt.qmin - 1)  # exponent of the significand's bit 0
        vals: list[Array] = []
        exps: list[Array | int] = []
        for t in range(-(-p // q)):
            piece = be.shift_right(sig, q * t) if t else sig
            if q * (t + 1) < p:
                piece = be.bitwise_and(piece, qmask)
            vals.append(be.where(neg, -piece, piece))
            exps.append(e0 + q * t if t else e0)
        return _Pieces(
            vals,
            exps,
            lo,
            hi,
            nan=special & (mant != 0),
            inf=special & (mant == 0),
            neg=neg,
            zero=sig == 0,
        )
    # bool and integers: digits of the two's-complement value, the top one signed.
    nbits = 1 if dtype == "bool" else BITS[dtype]
    unsigned = KIND[dtype] != "i"
    if nbits == lanes.bits:
        v = be.bitcast(x, lane)
        npieces = -(-nbits // q)
    else:
        v = be.astype(x, lane)  # value-preserving
        npieces = -(-(nbits + (0 if dtype == "bool" else 1)) // q)
    vals = []
    for t in range(npieces):
        piece = be.shift_right(v, q * t) if t else v
        if t < npieces - 1:
            piece = be.bitwise_and(piece, qmask)
        elif nbits == lanes.bits and unsigned:
            piece = be.bitwise_and(piece, (1 << (nbits - q * t)) - 1)
        vals.append(piece)
    return _Pieces(vals, [q * t for t in range(npieces)], lo, hi)


def _any(be: Backend, flag: Array, lane: Any) -> Array:
    """``[1]`` if any element of the boolean ``flag`` is set, else ``[0]`` (a lane array)."""
    s = be.sum(be.reshape(be.astype(flag, lane), (-1,)), None, True, lane)
    return be.clip(s, 0, 1)


def accumulate(
    be: Backend,
    grid: Grid,
    x: Array,
    x_dtype: str,
    w: Array | None,
    w_dtype: str | None,
    *,
    ignore_nan: bool = False,
    narrow: bool = True,
) -> tuple[Array, Array]:
    """The exact state of ``Σ x·w`` (``w`` broadcasts against ``x``; ``None``: weights of 1).

    Returns ``(state, nan)``: the state array (limbs not yet carry-normalised) and a ``(1,)``
    lane array, 1 if some product is NaN (a NaN factor, or an infinity times zero). With
    ``ignore_nan`` those products are dropped: they add nothing and raise no flag. Floats must be
    no wider than the grid's result dtype. With ``narrow`` and host-resident data, only the
    windows the data touch are computed (a read of two integers; device data is never synced).
    """
    lanes = grid.lanes
    lane = be.native_dtype(lanes.name)
    a = _pieces(be, grid, x, x_dtype)
    if w is None:
        terms = list(zip(a.vals, a.exps, strict=True))
        lo, hi, tbits = a.lo, a.hi, grid.q
        nan, inf, neg = a.nan, a.inf, a.neg
    else:
        assert w_dtype is not None
        b = _pieces(be, grid, w, w_dtype)
        terms = [
            (va * vb, ea + eb)
            for va, ea in zip(a.vals, a.exps, strict=True)
            for vb, eb in zip(b.vals, b.exps, strict=True)
        ]
        lo, hi, tbits = a.lo + b.lo, a.hi + b.hi, 2 * grid.q
        nan, inf, neg = _product_specials(a, b)
    ref = terms[0][0]
    flat_v = [be.reshape(v, (-1,)) for v, _ in terms]
    # An exponent is an int (integer pieces), or an array that may broadcast against its value
    # (integer values times float weights of shape (n, 1)): both are spread to the value's shape.
    flat_e = [
        be.reshape(e, (-1,))
        if not isinstance(e, int) and tuple(e.shape) == tuple(v.shape)
        else be.reshape(v * 0 + e, (-1,))
        for v, e in terms
    ]
    s = flat_v[0] if len(flat_v) == 1 else be.concat(flat_v, 0)
    e = flat_e[0] if len(flat_e) == 1 else be.concat(flat_e, 0)
    dim = s.shape[0]
    # An unknown length (a tf.function input signature with None) is taken as one block: fine
    # for int64 lanes (2**30 terms per call); int32 lanes (JAX) always have static shapes.
    k_len = -1 if dim is None else int(dim)

    # Windows: the static range of the dtypes, narrowed to the data's where that costs no sync.
    w_bits = lanes.w
    j0 = max((lo - grid.bottom) // w_bits, 0)
    j1 = min((hi - 1 - grid.bottom) // w_bits, grid.n - 2)
    if narrow and k_len > 0 and not be.is_traced(s):
        hs, he = be.host_view(s), be.host_view(e)
        if hs is not None and he is not None:
            nz = hs != 0
            if not nz.any():
                j1 = j0 - 1
            else:
                es = he[nz]
                j0 = max(j0, (int(es.min()) - grid.bottom) // w_bits)
                j1 = min(j1, (int(es.max()) + tbits - 1 - grid.bottom) // w_bits)

    zero1 = be.reshape(be.sum(ref * 0, None, False, lane), (1,))
    limbs: Array | None = None
    if j1 >= j0 and k_len:
        # At most what _window_sums adds per call; eagerly, cache-sized temporaries (about
        # 2**17 digits: 1.5-2x faster on NumPy and torch CPU), traced, one piece (a small graph).
        chunk = lanes.block * lanes.block // 2
        if not be.is_traced(s):
            chunk = min(chunk, max(1 << 10, (1 << 17) // (j1 - j0 + 1)))
        if k_len <= chunk:
            limbs = _limbs(be, grid, s, e, j0, j1, zero1)
        else:
            for start in range(0, k_len, chunk):
                sl = slice(start, start + chunk)
                part = _limbs(be, grid, s[sl], e[sl], j0, j1, zero1)
                limbs = part if limbs is None else _settle_limbs(be, grid, limbs + part)
    parts = [be.concat([zero1] * grid.n, 0) if limbs is None else limbs]

    if nan is None:  # integers: no special values
        flags = [zero1, zero1, zero1]
        nan_any = zero1
    else:
        assert inf is not None and neg is not None
        nan_any = _any(be, nan, lane)
        fin = inf & ~nan if ignore_nan else inf
        flags = [
            zero1 if ignore_nan else nan_any,
            _any(be, fin & ~neg, lane),
            _any(be, fin & neg, lane),
        ]
    return be.concat(parts + flags, 0), nan_any


def _limbs(be: Backend, grid: Grid, s: Array, e: Array, j0: int, j1: int, zero1: Array) -> Array:
    """Limbs (n,) of ``Σ s·2**e`` over windows ``j0..j1`` (each ``|limb| < 2**(bits-1)``).

    All windows at once: the digits form a (windows, terms) array whose rows the engine's
    ``_window_sums`` adds, as it adds the rows of a sum.
    """
    lanes = grid.lanes
    dim = s.shape[0]
    k_len = 1 if dim is None else int(dim)  # unknown: one block (see accumulate)
    kk = -1 if dim is None else k_len
    g = j1 - j0 + 1
    neg = be.reshape(s < 0, (1, kk))
    mag = be.reshape(be.where(s < 0, -s, s), (1, kk))
    bases = be.reshape(_iota(be, be.concat([zero1] * g, 0)), (g, 1))
    dd = be.reshape(e, (1, kk)) - (bases * lanes.w + (grid.bottom + lanes.w * j0))
    left = be.clip(dd, 0, lanes.w)
    right = be.clip(-dd, 0, lanes.bits - 1)
    mask_arr = mag * 0 + lanes.mask
    digit = be.shift_left(
        be.bitwise_and(be.shift_right(mag, right), be.shift_right(mask_arr, left)), left
    )
    digit = be.where(neg, -digit, digit)
    lo, hi = _window_sums(be, digit, lanes, False, k_len)
    limbs = _place(be, lo, j0, grid.n, zero1)
    if hi is not None:
        limbs = limbs + _place(be, hi, j0 + 1, grid.n, zero1)
    return limbs


def _place(be: Backend, v: Array, at: int, n: int, zero1: Array) -> Array:
    """The (g,) array ``v`` at positions ``at..at+g-1`` of a zero (n,) array."""
    g = int(v.shape[0])
    parts = [zero1] * at + [v] + [zero1] * (n - at - g)
    return be.concat(parts, 0) if len(parts) > 1 else v


def _product_specials(a: _Pieces, b: _Pieces) -> tuple[Array | None, Array | None, Array | None]:
    """NaN, infinity and sign of the products ``a·b`` as IEEE 754 multiplication defines them."""
    if a.nan is None and b.nan is None:
        return None, None, None
    if a.nan is None or b.nan is None:
        f, i = (b, a) if a.nan is None else (a, b)
        assert f.nan is not None and f.inf is not None and f.neg is not None
        izero = i.vals[0] == 0
        for v in i.vals[1:]:
            izero = izero & (v == 0)
        ineg = i.vals[-1] < 0
        nan = f.nan | (f.inf & izero)
        return nan, f.inf & ~nan, f.neg ^ ineg
    assert a.inf is not None and b.inf is not None and a.zero is not None and b.zero is not None
    assert a.neg is not None and b.neg is not None
    nan = a.nan | b.nan | (a.inf & b.zero & ~b.nan & ~b.inf) | (b.inf & a.zero & ~a.nan & ~a.inf)
    return nan, (a.inf | b.inf) & ~nan, a.neg ^ b.neg


# ------------------------------------------------------------------------------ state algebra
def _carry(be: Backend, grid: Grid, limbs: Array) -> Array:
    """One vectorised carry step: limbs ``0..n-2`` to ``[0, 2**w)`` plus the carry from below."""
    w = grid.lanes.w
    low = limbs[: grid.n - 1]
    c = be.shift_right(low, w)
    r = be.bitwise_and(low, grid.lanes.mask)
    return be.concat([r, limbs[grid.n - 1 :]], 0) + be.concat([c[:1] * 0, c], 0)


def _settle_limbs(be: Backend, grid: Grid, limbs: Array) -> Array:
    return _carry(be, grid, _carry(be, grid, limbs))


def add(be: Backend, grid: Grid, a: Array, b: Array) -> Array:
    """The state of the exact sum of states ``a`` and ``b`` (``b`` may be a raw update)."""
    return settle(be, grid, a + b)


def settle(be: Backend, grid: Grid, acc: Array) -> Array:
    """Bring the limbs of a sum of states back to ``[-1, 2**w]`` and the flags to 0/1.

    Valid for any sum of fewer than ``2**(bits - 2 - w)`` states (all-reduce included).
    """
    limbs = _settle_limbs(be, grid, acc[: grid.n])
    return be.concat([limbs, be.clip(acc[grid.n :], 0, 1)], 0)


def _iota(be: Backend, like: Array) -> Array:
    """``[0, 1, ..., n-1]`` shaped and typed like the 1-D ``like``."""
    return be.cumsum(like * 0 + 1, 0, like.dtype) - 1


def _carry_in(be: Backend, idx: Array, gen: Array, prop: Array) -> Array:
    """Carry-lookahead: 1 at ``i`` when the nearest limb ``j < i`` that does not propagate
    generates. One (n, n) masked maximum instead of a sequential pass over the limbs."""
    code = be.where(prop, -1, idx * 2 + be.astype(gen, idx.dtype))
    n = int(idx.shape[0])
    below = be.reshape(idx, (1, n)) < be.reshape(idx, (n, 1))
    last = be.max(be.where(below, be.reshape(code, (1, n)), -1), (1,), False)
    return be.where(last >= 0, be.bitwise_and(last, 1), 0)


def _magnitude(be: Backend, grid: Grid, acc: Array) -> tuple[Array, Array, Array]:
    """``(|V|, V < 0, iota)``: the limbs of ``|V|`` fully normalised (ascending, each in
    ``[0, 2**w)`` but the last, which is ``>= 0``), in a fixed number of array ops.

    The stored limbs ``x`` lie in ``[-1, 2**w]``: ``V = P - N`` with ``P = max(x, 0)`` and the
    0/1 digits ``N = (x == -1)``. Normalise ``P`` (carries 0/1), subtract ``N`` (borrows 0/1),
    then negate if ``V < 0``: each a carry-lookahead.
    """
    lanes = grid.lanes
    n = grid.n
    x = acc[:n]
    idx = _iota(be, x)
    top = idx == n - 1
    big = 1 << lanes.w
    neg1 = (x < 0) & ~top
    pos = be.where(neg1, 0, x)
    cin = _carry_in(be, idx, (pos >= big) & ~top, (pos == big - 1) & ~top)
    r = be.where(top, pos + cin, be.bitwise_and(pos + cin, lanes.mask))
    d = r - be.astype(neg1, r.dtype)
    bin_ = _carry_in(be, idx, (d < 0) & ~top, (d == 0) & ~top)
    d = be.where(top, d - bin_, be.bitwise_and(d - bin_, lanes.mask))
    negative = d[n - 1] < 0
    # -V: complement every digit and add one at the bottom, which carries up to and into the
    # lowest nonzero digit.
    first = -be.max(be.where((d != 0) & ~top, -idx, -n), None, False)
    c1 = be.astype(idx <= first, d.dtype)
    comp = be.where(top, -d - 1 + c1, be.bitwise_and(lanes.mask - d + c1, lanes.mask))
    return be.where(negative, comp, d), negative, idx


def round_float(be: Backend, grid: Grid, acc: Array, out: str = "float32") -> Array:
    """The exact value of the state, rounded half to even to the float dtype ``out`` (0-d).

    The steps of :mod:`._portable`'s rounding, read off every limb at once: the leading bit gives
    the exponent ``q`` of the last kept bit; the kept significand, the round bit and the sticky bit
    follow from shifted limbs; an exact zero is ``+0.0`` (a sum that starts at ``0.0``).
    """
    fmt = FORMATS[out]
    lanes = grid.lanes
    lane = be.native_dtype(lanes.name)
    p = fmt.p
    m, negative, idx = _magnitude(be, grid, acc)
    base = idx * lanes.w + grid.bottom
    t = be.max(be.where(m != 0, idx, -1), None, False)
    zero = t < 0
    mt = be.sum(be.where(idx == t, m, 0), None, False, lane)
    lead = t * lanes.w + (grid.bottom - fmt.qmin - 1) + _bitlen(be, mt, lanes)  # in k units
    ovf = lead - (p - 1) >= fmt.emask - 1
    qk = be.clip(lead - (p - 1), 0, fmt.emask - 1)
    qa = qk + fmt.qmin
    s0 = be.sum(_shift(be, m, base - qa, lanes), None, False, lane)
    s1 = be.sum(_shift(be, m, base - qa + 1, lanes), None, False, lane)
    nsh = be.clip(qa - 1 - base, 0, lanes.bits - 2)
    rest = m - be.shift_left(be.shift_right(m, nsh), nsh)
    sticky = be.max(be.astype(rest != 0, lane), None, False) > 0
    rbit = be.bitwise_and(s1, 1)
    odd = be.bitwise_and(s0, 1)
    bits = be.shift_left(qk, p - 1) + s0 + rbit * be.where(sticky, 1, odd)
    bits = be.where(ovf, fmt.inf_bits, be.clip(bits, 0, fmt.inf_bits))
    bits = be.where(zero, 0, bits)
    sgn = -(1 << (fmt.nbits - 1))
    res = be.where(negative & ~zero, bits + sgn, bits)
    nan, pinf, ninf = acc[grid.n] > 0, acc[grid.n + 1] > 0, acc[grid.n + 2] > 0
    res = be.where(pinf, fmt.inf_bits, res)
    res = be.where(ninf, fmt.inf_bits + sgn, res)
    res = be.where(nan | (pinf & ninf), fmt.nan_bits, res)
    if fmt.nbits != lanes.bits:
        res = be.astype(res, be.native_dtype(f"int{fmt.nbits}"))
    return be.bitcast(res, be.native_dtype(out))


def round_int(be: Backend, grid: Grid, acc: Array, out: str) -> tuple[Array, Array]:
    """``(value, fits)``: the exact integer value of the state wrapped to ``out``, and whether it
    fits ``out`` (a 0-d bool; the caller raises, or, while tracing, attaches Backend.guard)."""
    lanes = grid.lanes
    lane = be.native_dtype(lanes.name)
    m, negative, idx = _magnitude(be, grid, acc)
    base = idx * lanes.w + grid.bottom
    sh = be.clip(base, 0, lanes.bits - 1)
    contrib = be.where(base < lanes.bits, be.shift_left(m, sh), 0)
    v = be.sum(contrib, None, False, lane)  # |V| modulo 2**bits
    v = be.where(negative, -v, v)
    obits = BITS[out]
    limit = obits - 1 if KIND[out] == "i" else obits  # |V| < 2**limit fits (one more if < 0)
    high = be.shift_right(m, be.clip(limit - base, 0, lanes.bits - 1)) != 0
    above = be.max(be.astype(high, lane), None, False) > 0
    if KIND[out] == "i":
        i_star = (limit - grid.bottom) // lanes.w
        want = 1 << (limit - grid.bottom - lanes.w * i_star)
        single = be.where(idx == i_star, m == want, m == 0)
        is_pow = be.max(be.astype(~single, lane), None, False) == 0
        fits = ~above | (negative & is_pow)
    else:
        fits = ~above & ~negative
    signed = f"int{obits}"
    if obits == lanes.bits:
        r = v
    else:
        r = be.astype(v, be.native_dtype(signed))  # wraps modulo 2**obits
    if KIND[out] == "u":
        r = be.bitcast(r, be.native_dtype(out))
    return r, fits


# ------------------------------------------------------------------------------ host encoding
def decode(grid: Grid, limbs: list[int]) -> tuple[int, int]:
    """``(num, exp)`` with the state's exact value ``num · 2**exp``, from its limbs as ints."""
    total = 0
    for i, v in enumerate(limbs[: grid.n]):
        total += int(v) << (grid.lanes.w * i)
    return total, grid.bottom


def encode(grid: Grid, num: int, exp: int) -> list[int]:
    """Limbs (ints) holding ``num · 2**exp`` on ``grid``; ``ValueError`` if it does not fit."""
    shift = exp - grid.bottom
    if shift < 0:
        if num % (1 << -shift):
            raise ValueError(f"value {num}·2**{exp} has bits below the grid (2**{grid.bottom})")
        num >>= -shift
    else:
        num <<= shift
    w = grid.lanes.w
    out = [(num >> (w * i)) & grid.lanes.mask for i in range(grid.n - 1)]
    top = num >> (w * (grid.n - 1))
    if not -(1 << (grid.lanes.bits - 2)) <= top < (1 << (grid.lanes.bits - 2)):
        raise ValueError(f"value {num}·2**{exp} is too large for the grid")
    return [*out, top]
