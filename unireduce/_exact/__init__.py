"""Exact mode (issue 5): correctly rounded, bit-reproducible sums and cumulative sums.

Every output element is the exact sum of its inputs rounded half to even to ``out``; integers are
checked and raise :class:`unireduce.IntegerOverflowError`. Two implementations of one algorithm:
a fused Numba kernel for data already in host memory (:mod:`._host`), and a portable one written in
the framework's own integer ops for devices and traced code (:mod:`._portable`). Both compute the
same exactly rounded value, hence the same bits.

>>> import numpy as np
>>> from unireduce._registry import backend_of
>>> x = np.array([1e300, 1.0, -1e300], dtype=np.float64)
>>> float(sum(backend_of(x), x, None, False, "float64"))
1.0
>>> cumsum(backend_of(x), x, 0, "float64").tolist()
[1e+300, 1e+300, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from unireduce._backend import Backend
from unireduce._dtypes import is_integer

from . import _host
from ._formats import FORMATS
from ._portable import check_int, int_rows_fit, sum_rows

__all__ = ["cumsum", "parse_spec", "run_host", "sum"]

Array = Any
Path = Literal["auto", "host", "portable"]


def _shape(x: Array) -> tuple[int, ...]:
    return tuple(int(s) for s in x.shape)


def _int_name(be: Backend, x: Array) -> str:
    name = be.dtype_name(x.dtype)
    assert name is not None
    return name


def _on_host(
    be: Backend,
    x: Array,
    spec: str,
    shape: tuple[int, ...],
    out: str,
    path: Path,
    portable: Callable[[Array], Array],
) -> Any:
    """The result by the fused host kernels where they apply, else ``None`` (portable path).

    Eagerly they read the zero-copy NumPy view of ``x``; in a traced program whose data will be
    in host memory (``torch.compile`` of CPU tensors) an op of the adapter's runs them
    (:meth:`Backend.host_call`): Inductor compiled the portable exact cumsum of 10**7 float32
    values in 161 s, to a program 17x ``torch.cumsum`` (issue 5).
    """
    if path == "portable" or not _host.supports(out):
        return None
    if path == "host" or _host.available():
        view = be.host_view(x)
        if view is not None:
            return be.from_host(run_host(spec, view), x)
        y = be.host_call(x, spec, shape, out, None if path == "host" else portable)
        if y is not None:
            return y
    if path == "host":
        raise ValueError(f"exact: the host path cannot reach {type(x).__name__} without a copy")
    return None


def run_host(spec: str, a: Any) -> Any:
    """The host kernels' result for ``spec`` on the NumPy array ``a``: ``"sum:<out>:<axes>:<k>"``
    (the reduced axes, sorted and comma-separated; ``k`` 1 to keep them) or
    ``"cumsum:<out>:<axis>"``. Eager calls and the op of :meth:`Backend.host_call` both run it.

    >>> import numpy as np
    >>> run_host("sum:float64:1:0", np.array([[1e300, 1.0, -1e300]])).tolist()
    [1.0]
    >>> run_host("cumsum:float32:0", np.array([[0.1], [0.2]], dtype=np.float32)).tolist()
    [[0.10000000149011612], [0.30000001192092896]]
    """
    op, out, red, kept, keepdims = parse_spec(spec, a.ndim)
    shape = a.shape
    nd = len(shape)
    m = math.prod([shape[i] for i in kept])
    k = math.prod([shape[i] for i in red])
    if op == "sum":
        res = _host_sum(a, kept, red, m, k, out)
        if keepdims:
            return res.reshape(tuple(1 if i in red else shape[i] for i in range(nd)))
        return res.reshape(tuple(shape[i] for i in kept))
    perm = (*kept, red[0])
    res = _host.cumsum_rows(_np_rows(a, kept, red, m, k), out)
    res = res.reshape(tuple(shape[i] for i in perm))
    return res.transpose(tuple(perm.index(i) for i in range(nd)))


#: Most elements one task of a split sum gathers: blocks along the reduced axes x
#: (EXPANSION + 1) x the largest block of outputs. Larger sums take the portable path.
SPLIT_MAX = 1 << 22


def split_plan(
    spec: str, chunks: tuple[tuple[int, ...], ...], out: str
) -> tuple[tuple[tuple[int, ...], ...], tuple[slice, ...]] | None:
    """For a ``"sum:..."`` spec over an array chunked as ``chunks`` (dask's per-axis block
    lengths) whose reduced axes are split: the chunks of the per-block partials
    (:func:`block_partials`) and the index of their overflow flags once the reduced axes are
    gathered, or ``None`` where the two-stage sum does not apply (complex results, past
    :data:`SPLIT_MAX`): the caller then runs the portable path.

    >>> split_plan("sum:float64:0:0", ((3, 3),), "float64")
    (((43, 43),), (slice(42, None, 43),))
    """
    if out not in FORMATS:
        return None
    _, _, red, kept, _ = parse_spec(spec, len(chunks))
    n1 = _host.EXPANSION + 1
    nblocks = math.prod(len(chunks[a]) for a in red)
    if nblocks * n1 * math.prod(max(chunks[a]) for a in kept) > SPLIT_MAX:
        return None
    r0 = red[0]
    parts = tuple(
        ((n1 if a == r0 else 1),) * len(c) if a in red else c for a, c in enumerate(chunks)
    )
    flags = tuple(slice(n1 - 1, None, n1) if a == r0 else slice(None) for a in range(len(chunks)))
    return parts, flags


def block_partials(spec: str, a: Any) -> Any:
    """A block's part of a ``"sum:..."`` spec's sums whose reduced axes are split across blocks:
    per output, the float64 expansion of the block's exact partial sum (:func:`_host.expansions`)
    and an overflow flag (1.0 where the partial sum passed float64's range), laid along the first
    reduced axis (``EXPANSION + 1`` long), the other reduced axes kept at length 1.

    >>> import numpy as np
    >>> if _host.available():
    ...     a = np.array([1.0, 2.0**-60], np.float32)
    ...     print(block_partials("sum:float32:0:0", a)[:3].tolist())
    ... else:
    ...     print([1.0, 8.673617379884035e-19, -0.0])
    [1.0, 8.673617379884035e-19, -0.0]
    """
    import numpy as np

    _, _, red, kept, _ = parse_spec(spec, a.ndim)
    m = math.prod([a.shape[i] for i in kept])
    k = math.prod([a.shape[i] for i in red])
    comps, over = _host.expansions(_np_rows(a, kept, red, m, k))
    full = np.concatenate([comps, over[:, None].astype(np.float64)], 1)
    n1 = _host.EXPANSION + 1
    full = full.reshape((*[a.shape[i] for i in kept], n1) + (1,) * (len(red) - 1))
    order = [*kept, *red]
    return full.transpose([order.index(i) for i in range(a.ndim)])


def finish_partials(spec: str, parts: Any) -> Any:
    """The spec's sums from every block's :func:`block_partials` (concatenated along the reduced
    axes, which are whole here): the exact sum of all components, rounded once to the output
    format. The overflow flags are not read (the caller checks them)."""
    _, out, red, kept, keepdims = parse_spec(spec, parts.ndim)
    shape = parts.shape
    m = math.prod([shape[i] for i in kept])
    rest = math.prod([shape[i] for i in red[1:]])
    n1 = _host.EXPANSION + 1
    rows = _np_rows(parts, kept, red, m, shape[red[0]] * rest)
    rows = rows.reshape(m, shape[red[0]] // n1, n1, rest)[:, :, : n1 - 1, :]
    res = _host.sum_rows_wide(rows.reshape(m, -1), out)
    if keepdims:
        return res.reshape(tuple(1 if i in red else shape[i] for i in range(parts.ndim)))
    return res.reshape(tuple(shape[i] for i in kept))


def parse_spec(spec: str, nd: int) -> tuple[str, str, tuple[int, ...], list[int], bool]:
    """``(op, out, reduced axes, kept axes, keepdims)`` of a :func:`run_host` spec for an array
    of ``nd`` dimensions.

    >>> parse_spec("sum:float32:0,2:1", 3), parse_spec("cumsum:float64:1", 2)
    (('sum', 'float32', (0, 2), [1], True), ('cumsum', 'float64', (1,), [0], False))
    """
    op, out, *rest = spec.split(":")
    red = tuple(int(v) for v in rest[0].split(",") if v) if op == "sum" else (int(rest[0]),)
    kept = [i for i in range(nd) if i not in red]
    return op, out, red, kept, op == "sum" and rest[1] == "1"


def sum(
    be: Backend,
    x: Array,
    axes: tuple[int, ...] | None,
    keepdims: bool,
    out: str,
    path: Path = "auto",
) -> Array:
    """Exact sum of ``x`` over ``axes`` (sorted, non-negative; ``None``: all), rounded to ``out``.

    Float and complex: ``x`` is already cast to ``out``. Integer ``out``: ``x`` is the bool or
    integer input; a result that does not fit ``out`` raises ``IntegerOverflowError``.
    """
    shape = _shape(x)
    nd = len(shape)
    red = tuple(range(nd)) if axes is None else tuple(axes)
    kept = [a for a in range(nd) if a not in red]
    if keepdims:
        out_shape = tuple(1 if a in red else shape[a] for a in range(nd))
    else:
        out_shape = tuple(shape[a] for a in kept)
    m = math.prod([shape[a] for a in kept])
    k = math.prod([shape[a] for a in red])
    if is_integer(out) or out == "bool":
        work = be.work_dtype(out)
        y = be.sum(x, axes, keepdims, be.native_dtype(work))
        if work != out:
            y = be.astype(y, be.native_dtype(out))
        if out != "bool" and m and k:
            x2 = _rows2d(be, x, kept, red, m, k)
            fits = int_rows_fit(be, x2, _int_name(be, x), out, False)
            y = check_int(be, y, fits, "sum", out)
        return y
    if m == 0 or k == 0:
        return be.sum(x, axes, keepdims, be.native_dtype(out))

    spec = f"sum:{out}:{','.join(str(a) for a in red)}:{int(keepdims)}"

    def exact(v: Array) -> Array:
        def portable(a: Array) -> Array:
            x2 = _rows2d(be, a, kept, red, m, k)
            rows = lambda: _rows2d(be, a, kept, red, m, k)  # noqa: E731 - anew in a branch
            return be.reshape(sum_rows(be, x2, out, False, rows), out_shape)

        y = _on_host(be, v, spec, out_shape, out, path, portable)
        return be.run_compiled(portable, v, (spec, shape)) if y is None else y

    return be.with_grad_of(exact, lambda v: be.sum(v, axes, keepdims, be.native_dtype(out)), x)


def cumsum(be: Backend, x: Array, axis: int, out: str, path: Path = "auto") -> Array:
    """Exact inclusive prefix sums of ``x`` along ``axis``, every prefix rounded to ``out``."""
    shape = _shape(x)
    nd = len(shape)
    kept = [a for a in range(nd) if a != axis]
    m = math.prod([shape[a] for a in kept])
    k = shape[axis]
    perm = (*kept, axis)
    if is_integer(out) or out == "bool":
        work = be.work_dtype(out)
        y = be.cumsum(x, axis, be.native_dtype(work))
        if work != out:
            y = be.astype(y, be.native_dtype(out))
        if out != "bool" and m and k:
            x2 = _rows2d(be, x, kept, (axis,), m, k)
            fits = int_rows_fit(be, x2, _int_name(be, x), out, True)
            y = check_int(be, y, fits, "cumsum", out)
        return y
    if m == 0 or k == 0:
        return be.cumsum(x, axis, be.native_dtype(out))
    inv = tuple(perm.index(a) for a in range(nd))

    spec = f"cumsum:{out}:{axis}"

    def exact(v: Array) -> Array:
        def portable(a: Array) -> Array:
            x2 = _rows2d(be, a, kept, (axis,), m, k)
            rows = lambda: _rows2d(be, a, kept, (axis,), m, k)  # noqa: E731 - anew in a branch
            y = be.reshape(sum_rows(be, x2, out, True, rows), tuple(shape[a] for a in perm))
            return be.permute_dims(y, inv) if perm != tuple(range(nd)) else y

        y = _on_host(be, v, spec, shape, out, path, portable)
        return be.run_compiled(portable, v, (spec, shape)) if y is None else y

    return be.with_grad_of(exact, lambda v: be.cumsum(v, axis, be.native_dtype(out)), x)


def _rows2d(be: Backend, x: Array, kept: list[int], red: tuple[int, ...], m: int, k: int) -> Array:
    perm = (*kept, *red)
    if perm != tuple(range(len(perm))):
        x = be.permute_dims(x, perm)
    return be.reshape(x, (m, k))


def _host_sum(a: Any, kept: list[int], red: tuple[int, ...], m: int, k: int, out: str) -> Any:
    """Exact sums of the NumPy view ``a`` over ``red``, shape (M,), in the layout's own order:
    the row kernel when the reduced axes are contiguous in memory, the column kernel when the kept
    ones are (e.g. axis 0 of a C array), else the row kernel on a contiguous copy."""
    import numpy as np

    rows = np.transpose(a, (*kept, *red))
    if m > 1 and not rows.flags.c_contiguous:
        cols = np.transpose(a, (*red, *kept))
        if cols.flags.c_contiguous:
            return _host.sum_cols(np.reshape(cols, (k, m)), out)
    return _host.sum_rows(np.reshape(rows, (m, k)), out)


def _np_rows(a: Any, kept: list[int], red: tuple[int, ...], m: int, k: int) -> Any:
    import numpy as np

    perm = (*kept, *red)
    if perm != tuple(range(len(perm))):
        a = np.transpose(a, perm)
    return np.reshape(a, (m, k))  # a view when the layout allows; the kernel takes strides
