"""Fused exact kernels for data in host memory, compiled with Numba (an optional dependency).

Sum, per row, in blocks of 1024 values (Rump, Ogita and Oishi's error-free extraction; the
prototype of issue 5): with ``σ = 2**s`` above ``1024 · max|x|``, ``q = (x + σ) − σ`` is ``x``
rounded to a multiple of ``ulp(σ)``, the ``q`` add up exactly in any order, and ``r = x − q`` is
exact; repeat on the ``r`` with a smaller ``σ`` until they are all zero. Each level's block sum is
one float64, added exactly into a Neal superaccumulator (arXiv 1505.05571: 32-bit digits in int64
chunks indexed by exponent). The chunks are rounded once, half to even, at the end. Blocks with
magnitudes near the overflow threshold, infinities or NaN go element by element into the
superaccumulator instead. Every float16/bfloat16/float32 value is a float64, so those go through
the same float64 kernel.

Cumsum, per row: a double-double running sum (TwoSum) with a bound on its error gives each prefix;
when the bound cannot certify the rounding, the elements since the last exact point are added to
the superaccumulator and the prefix is rounded from it exactly.

``fastmath`` is never on: it would fold ``(x + σ) − σ``. The kernels check once that the CPU does
not flush subnormals (DAZ/FTZ); if it does, every element takes the integer superaccumulator path.

>>> import numpy as np
>>> if available():
...     print(sum_rows(np.array([[1e300, 1.0, -1e300]]), "float64").tolist())
... else:
...     print([1.0])
[1.0]
"""

from __future__ import annotations

import functools
from typing import Any

from ._formats import FORMATS

__all__ = ["available", "cumsum_rows", "sum_rows", "supports"]


def supports(out: str) -> bool:
    """Whether the host kernels compute results of dtype ``out``."""
    return out in FORMATS or out in ("complex64", "complex128")


@functools.cache
def available() -> bool:
    """Whether Numba is importable (the host path is then used for host-memory data)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _kernels() -> Any:
    from . import _host_kernels as hk  # imports numba

    return hk.sum_rows_k, hk.cumsum_rows_k, hk.flushes


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
    import numpy as np

    fmt = FORMATS[out]
    if out == "bfloat16":
        import ml_dtypes

        return bits.astype(np.uint16).view(ml_dtypes.bfloat16)
    return bits.astype(f"uint{fmt.nbits}").view(out)


def sum_rows(a: Any, out: str) -> Any:
    """Exact row sums (M,) of the 2-D NumPy float array ``a`` (dtype ``out``), correctly rounded."""
    import numpy as np

    if out in ("complex64", "complex128"):
        comp = "float32" if out == "complex64" else "float64"
        re = sum_rows(np.ascontiguousarray(a.real), comp)
        im = sum_rows(np.ascontiguousarray(a.imag), comp)
        res = np.empty(re.shape, dtype=out)
        res.real, res.imag = re, im
        return res
    k = _kernels()
    x, fmt = _prep(a, out)
    bits = np.empty(x.shape[0], np.int64)
    k[0](x, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k), _threads())
    return _finish(bits, out)


def cumsum_rows(a: Any, out: str) -> Any:
    """Exact row prefix sums (M, K) of the 2-D NumPy float array ``a``, each correctly rounded."""
    import numpy as np

    if out in ("complex64", "complex128"):
        comp = "float32" if out == "complex64" else "float64"
        re = cumsum_rows(np.ascontiguousarray(a.real), comp)
        im = cumsum_rows(np.ascontiguousarray(a.imag), comp)
        res = np.empty(re.shape, dtype=out)
        res.real, res.imag = re, im
        return res
    k = _kernels()
    x, fmt = _prep(a, out)
    bits = np.empty(x.shape, np.int64)
    k[1](x, bits, fmt.p, fmt.emask, fmt.nbits, _slow(k))
    return _finish(bits, out)
