"""Fused exact kernels for data in host memory, compiled with Numba (an optional dependency).

Sum: a certified fast path, then an exact fallback (Rump, Ogita and Oishi's error-free
extraction; the prototype of issue 5). Per block of 1024 values, with ``σ = 2**s`` above
``1024 · max|x|``, ``q = (x + σ) − σ`` is ``x`` rounded to a multiple of ``ulp(σ)``: the ``q`` add
up exactly in any order, and the remainders ``r = x − q`` add up with a known error bound. The block
results go into a double-double with a bound on its error; if every value within the bound rounds
to the same result, that is the answer (one streaming pass, SIMD). Otherwise (ties, heavy
cancellation, NaN, infinities, magnitudes near overflow) the row is summed exactly: extraction
levels until every remainder is zero, each level's sum added into a Neal superaccumulator (arXiv
1505.05571: 32-bit digits in int64 chunks indexed by exponent), rounded once, half to even. Rows
run in parallel; a long single row is split between threads; a sum over leading axes (axis 0 of a
C array) runs a column kernel across the contiguous columns, with no transposed copy.

Cumsum, per row: a double-double running sum (TwoSum) with a bound on its error gives each prefix;
when the bound cannot certify the rounding, the elements since the last exact point are added to
the superaccumulator (a block at a time) and the prefix is rounded from it exactly.

``fastmath`` stays off wherever it could fold ``(x + σ) − σ``: only the two block sums carry
``reassoc`` (LLVM keeps the flag per instruction, see ``_host_kernels.split``). The kernels check
that the CPU does not flush subnormals (DAZ/FTZ), in the caller and in each worker thread; where it
does, that thread's rows take the integer superaccumulator path (float32 widened by integer ops).
float32 data is read as float32 and widened per element; float16/bfloat16
are widened to float32 first (a copy: Numba has no half types).

>>> import numpy as np
>>> if available():
...     print(sum_rows(np.array([[1e300, 1.0, -1e300]]), "float64").tolist())
... else:
...     print([1.0])
[1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unireduce._dtypes import COMPLEX_COMPONENT

from ._formats import FORMATS, Fmt

__all__ = [
    "available",
    "bounded",
    "cumsum_rows",
    "cumsum_rows_wide",
    "expansions",
    "round_bounded",
    "sum_cols",
    "sum_cols_blocks",
    "sum_rows",
    "sum_rows_wide",
    "supports",
]


def supports(out: str) -> bool:
    """Whether the host kernels compute results of dtype ``out``."""
    return out in FORMATS or out in ("complex64", "complex128")


_numba_found: list[bool] = []  # available()'s answer, once known


def available() -> bool:
    """Whether Numba is importable (the host path is then used for host-memory data)."""
    if not _numba_found:
        try:
            import numba  # noqa: F401
        except ImportError:
            _numba_found.append(False)
        else:
            _numba_found.append(True)
    return _numba_found[0]


# Run eagerly while Dynamo traces, the answer a constant of the trace (as
# unireduce._registry._torch_backend_name): Dynamo warns on tracing into a functools.cache.
available._dynamo_marked_constant = True  # type: ignore[attr-defined]


def _kernels() -> Any:
    from . import _host_kernels as hk  # imports numba

    return hk.sum_rows_k, hk.cumsum_rows_k, hk.flushes, hk.sum_cols_k


def _fb(x: Any) -> tuple[Any, Any]:
    """``x`` viewed as integers, and (abs mask, significand bits, exponent bias, all-ones exponent)
    of its format (float32 or float64)."""
    import numpy as np

    if x.dtype == np.float32:
        return x.view(np.int32), (0x7FFFFFFF, 23, 126, 255)
    return x.view(np.int64), (0x7FFFFFFFFFFFFFFF, 52, 1022, 2047)


def _prep(a: Any, out: str) -> tuple[Any, Any]:
    import numpy as np

    fmt = FORMATS[out]
    if out in ("float16", "bfloat16"):
        a = a.astype(np.float32)  # exact: every half value is a float32
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a, fmt


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _slow(k: Any) -> bool:
    return bool(k[2](5e-324))


def _finish(bits: Any, out: str) -> Any:
    """The values of format ``out`` whose bit patterns ``bits`` holds (int64, or already the
    format's own width: then a view, no copy)."""
    import numpy as np

    fmt = FORMATS[out]
    if bits.dtype.itemsize * 8 != fmt.nbits:
        bits = bits.astype(np.uint32 if fmt.nbits == 32 else np.uint16)
    if out == "bfloat16":
        import ml_dtypes

        return bits.view(ml_dtypes.bfloat16)
    return bits.view(out)


def _per_component(fn: Callable[[Any, str], Any], a: Any, out: str) -> Any:
    """``fn`` (a real kernel wrapper) applied to the real and imaginary parts of complex ``a``."""
    import numpy as np

    comp = COMPLEX_COMPONENT[out]
    re = fn(np.ascontiguousarray(a.real), comp)
    im = fn(np.ascontiguousarray(a.imag), comp)
    res = np.empty(re.shape, dtype=out)
    res.real, res.imag = re, im
    return res


def sum_rows(a: Any, out: str) -> Any:
    """Exact row sums (M,) of the 2-D NumPy float array ``a`` (dtype ``out``), correctly rounded."""
    if out in ("complex64", "complex128"):
        return _per_component(sum_rows, a, out)
    x, fmt = _prep(a, out)
    return _row_sums(x, fmt, out)


def _row_sums(x: Any, fmt: Fmt, out: str) -> Any:
    """The row kernel on the C-contiguous float32 or float64 array ``x``, rounded to ``fmt``."""
    import numpy as np

    k = _kernels()
    bits = np.empty(x.shape[0], np.int64)
    xi, fb = _fb(x)
    k[0](x, xi, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k), _threads(), fb)
    return _finish(bits, out)


def sum_rows_wide(a: Any, out: str) -> Any:
    """Exact row sums (M,) of the 2-D float64 array ``a`` rounded to the real format ``out``
    (float64 or narrower) once: the kernels read float64 and round to any format.

    >>> import numpy as np
    >>> if available():
    ...     print(sum_rows_wide(np.array([[1.0, 2.0**-24, 2.0**-60]]), "float32").tolist())
    ... else:
    ...     print([1.0000001192092896])
    [1.0000001192092896]
    """
    import numpy as np

    return _row_sums(np.ascontiguousarray(a, dtype=np.float64), FORMATS[out], out)


def bounded(a: Any, out: str) -> Any:
    """Row sums of the real 2-D array ``a`` (M, K) as the certified first try leaves them
    (M, 4): a double-double ``s + c`` within ``e`` of the exact sum, and 1.0 where that holds
    (0.0 on NaN, infinities, magnitudes near overflow). Plain float64 block sums for float32
    data and results of at most 24 bits, else the extraction (as :func:`sum_rows` tries
    first). :func:`round_bounded` adds such rows up and rounds.

    >>> import numpy as np
    >>> if available():
    ...     s, c, e, ok = bounded(np.array([[1.0, 2.0**-60]]), "float64")[0]
    ...     print(s == 1.0, c == 2.0**-60, e < 2.0**-70, ok)
    ... else:
    ...     print(True, True, True, 1.0)
    True True True 1.0
    """
    import numpy as np

    from . import _host_kernels as hk

    k = _kernels()
    x, fmt = _prep(a, out)
    xi, fb = _fb(x)
    res = np.empty((x.shape[0], 4))
    plain = bool(hk.plain_first(fmt.p, x.itemsize))  # the kernels' own first try
    hk.bounded_rows_k(x, xi, res, plain, _slow(k), _threads(), fb)
    return res


def round_bounded(parts: Any, out: str) -> tuple[Any, Any]:
    """The sums (M,) of the :func:`bounded` results ``parts`` (M, N, 4) of N pieces of each
    row, rounded to the real format ``out``, and where they are certain (M,): every value
    within the added bounds rounds alike (zero sums, whose sign needs the exact route, are
    never certain).

    >>> import numpy as np
    >>> if available():
    ...     parts = np.array([[[1.0, 0.0, 0.0, 1.0], [2.0**-60, 0.0, 0.0, 1.0]]])
    ...     y, sure = round_bounded(parts, "float32")
    ...     print(y.tolist(), sure.tolist())
    ... else:
    ...     print([1.0], [True])
    [1.0] [True]
    """
    import numpy as np

    from . import _host_kernels as hk

    fmt = FORMATS[out]
    bits = np.empty(parts.shape[0], np.int64)
    sure = np.empty(parts.shape[0], bool)
    hk.round_bounded_k(np.ascontiguousarray(parts), bits, sure, fmt.p, fmt.emask, fmt.nbits)
    return _finish(bits, out), sure


#: Components of a float64 expansion of any exact sum of float64 values within range: each
#: component is at most 2**-52 of the one before, and the sum is a multiple of 2**-1074 below
#: 2**1024 (2098 bits, 40 components of 53).
EXPANSION = 42


def expansions(a: Any) -> tuple[Any, Any]:
    """The exact row sums of the real 2-D array ``a`` (M, K) as float64 expansions (M,
    :data:`EXPANSION`): components whose exact sum is the row's, padded with -0 (which adds
    nothing, not even to a -0), and whether a row's sum overflowed float64 (its components are
    then not exact). Component ``i`` is the row's sum less the components before it, correctly
    rounded (two or three for normal data), from the superaccumulator of one exact pass.
    NaN and infinities end a row as its one component.

    >>> import numpy as np
    >>> if available():
    ...     c, over = expansions(np.array([[1.0, 2.0**-60, 1e300, -1e300]]))
    ...     print(c[0, :3].tolist(), over.tolist())
    ... else:
    ...     print([1.0, 8.673617379884035e-19, -0.0], [False])
    [1.0, 8.673617379884035e-19, -0.0] [False]
    """
    import numpy as np

    from . import _host_kernels as hk

    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32 if a.dtype.itemsize <= 4 else np.float64)  # halves: exact
    x = np.ascontiguousarray(a)
    comps = np.full((x.shape[0], EXPANSION), -0.0)
    over = np.zeros(x.shape[0], bool)
    hk.expansion_rows_k(x, comps, over, _slow(_kernels()), _threads())
    return comps, over


def sum_cols(a: Any, out: str) -> Any:
    """Exact column sums (M,) of the 2-D NumPy float array ``a`` (K, M), correctly rounded.

    >>> import numpy as np
    >>> if available():
    ...     print(sum_cols(np.array([[1e300, 1.0], [1.0, 2.0], [-1e300, 3.0]]), "float64").tolist())
    ... else:
    ...     print([1.0, 6.0])
    [1.0, 6.0]
    """
    import numpy as np

    if out in ("complex64", "complex128"):
        return _per_component(sum_cols, a, out)
    k = _kernels()
    x, fmt = _prep(a, out)
    bits = np.empty(x.shape[1], np.int64)
    k[3](x, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k), _threads())
    return _finish(bits, out)


def sum_cols_blocks(blocks: list[Any], c0: int, m: int, out: str) -> Any:
    """Exact sums (M,) of columns ``c0 .. c0+m`` of the rows of the 2-D C-contiguous NumPy
    blocks (all float32 or all float64) together, as of their concatenation along axis 0, read in
    place (a real ``out``).

    >>> import numpy as np
    >>> b = [np.array([[9.0, 1e300, 1.0]]), np.array([[9.0, 1.0, 2.0], [9.0, -1e300, 3.0]])]
    >>> print(sum_cols_blocks(b, 1, 2, "float64").tolist() if available() else [1.0, 6.0])
    [1.0, 6.0]
    """
    import numpy as np
    from numba.typed import List

    from . import _host_kernels as hk

    k, fmt = _kernels(), FORMATS[out]
    bits = np.empty(m, np.int64)
    hk.sum_cols_kb(List(blocks), c0, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k), _threads())
    return _finish(bits, out)


def cumsum_rows(a: Any, out: str) -> Any:
    """Exact row prefix sums (M, K) of the 2-D NumPy float array ``a``, each correctly rounded."""

    if out in ("complex64", "complex128"):
        return _per_component(cumsum_rows, a, out)
    x, fmt = _prep(a, out)
    return _row_prefixes(x, fmt, out)


def _row_prefixes(x: Any, fmt: Fmt, out: str) -> Any:
    """The prefix kernel on the C-contiguous float32 or float64 array ``x``, rounded to ``fmt``."""
    import numpy as np

    k = _kernels()
    # Bits at the output's width (the kernel narrows them as it stores): no int64 copy to convert.
    bits = np.empty(x.shape, np.int64 if fmt.nbits == 64 else f"uint{fmt.nbits}")
    k[1](x, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k))
    return _finish(bits, out)


def cumsum_rows_wide(a: Any, out: str) -> Any:
    """Exact row prefix sums (M, K) of the 2-D float64 array ``a``, each rounded once to the real
    format ``out`` (float64 or narrower).

    >>> import numpy as np
    >>> if available():
    ...     print(cumsum_rows_wide(np.array([[1.0, 2.0**-24, 2.0**-60]]), "float32").tolist())
    ... else:
    ...     print([[1.0, 1.0, 1.0000001192092896]])
    [[1.0, 1.0, 1.0000001192092896]]
    """
    import numpy as np

    return _row_prefixes(np.ascontiguousarray(a, dtype=np.float64), FORMATS[out], out)
