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

import builtins
import math
from collections.abc import Callable
from typing import Any, Literal

from unireduce._backend import Backend
from unireduce._dtypes import COMPLEX_COMPONENT, is_integer

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
    m = math.prod([shape[i] for i in kept])
    k = math.prod([shape[i] for i in red])
    if op == "sum":
        return _host_sum(a, kept, red, m, k, out).reshape(_sum_shape(shape, red, keepdims))
    return _unrows(_host.cumsum_rows(_np_rows(a, kept, red, m, k), out), shape, kept, red[0])


def sum_in_place(spec: str, index: tuple[slice, ...], blocks: list[Any]) -> Any | None:
    """``run_host(spec, a)`` for the ``"sum:<out>:<axes>:0"`` of the array ``a`` that the views
    ``b[index]`` of the NumPy ``blocks`` (in any order) make together along the reduced axes,
    without concatenating them where the column kernel can read the blocks in place: the reduced
    axes lead, the blocks are float32 or float64 with rows of contiguous columns (the kept axes;
    :func:`_row_runs`) and the views cut only the first kept axis (a run of columns of every
    row). Else ``None``.

    >>> import numpy as np
    >>> b = [np.array([[1e300, 9.0], [2.0, 9.0]]), np.array([[-1e300, 9.0]])]
    >>> r = sum_in_place("sum:float64:0:0", (slice(None), slice(0, 1)), b)
    >>> (r.tolist() if r is not None else [2.0]), sum_in_place("sum:float64:1:0", (), b)
    ([2.0], None)
    """
    import numpy as np

    op, out, red, kept, keepdims = parse_spec(spec, blocks[0].ndim)
    first = blocks[0]
    if (
        op != "sum"
        or keepdims
        or red != tuple(range(len(red)))
        or not kept
        or out in COMPLEX_COMPONENT
        or not _host.available()
        or first.dtype not in (np.float32, np.float64)
        or any(b.dtype != first.dtype for b in blocks)
    ):
        return None
    dims = first.shape[len(red) :]
    cut = [index[a].indices(first.shape[a]) for a in kept]
    if cut[0][2] != 1 or any(c != (0, n, 1) for c, n in zip(cut[1:], dims[1:], strict=True)):
        return None
    inner = math.prod(dims[1:])
    m = (cut[0][1] - cut[0][0]) * inner
    rows = [_row_runs(b, math.prod(dims)) for b in blocks]
    if m <= 0 or any(r is None for r in rows) or not builtins.sum(b.size for b in blocks):
        return None
    runs = [v for r in rows for v in r or ()]
    res = _host.sum_cols_blocks(runs, cut[0][0] * inner, m, out)
    return res.reshape((cut[0][1] - cut[0][0], *dims[1:]))


def _row_runs(b: Any, width: int) -> list[Any] | None:
    """The rows of the NumPy array ``b`` viewed as (K, ``width``) as C-contiguous 2-D views of
    its memory (none for no rows), or ``None`` where ``b`` is read-only, that view would be a
    copy, or its rows are not contiguous, overlap or run backwards. Rows ``S >= width``
    elements apart (a block of a larger array, cut along its last axis) give a (K - 1, S) view
    whose row ``i`` starts at row ``i`` (its elements past ``width`` are never read: they lie
    between rows ``i`` and ``i + 1``) and the last row alone: the kernel compiled for strided
    rows ran 2x slower (43 against 19 ms for 2000 x 50000 float32 values in 20 blocks).

    >>> import numpy as np
    >>> runs = _row_runs(np.arange(12.0).reshape(3, 4)[:, 1:3], 2)
    >>> [(r.shape, r.flags.c_contiguous, r[:, :2].tolist()) for r in runs]
    [((2, 4), True, [[1.0, 2.0], [5.0, 6.0]]), ((1, 2), True, [[9.0, 10.0]])]
    >>> _row_runs(np.asfortranarray(np.ones((3, 4))), 4) is None
    True
    """
    import numpy as np
    from numpy.lib.stride_tricks import as_strided

    v = b.reshape(-1, width)
    if not v.size:
        return []
    # (Numba types read-only arrays apart: one more compiled kernel; a reshape may copy.)
    if not v.flags.writeable or not np.may_share_memory(v, b):
        return None
    isz, step = v.itemsize, v.strides[0]
    if v.flags.c_contiguous:
        return [v]
    if v.strides[1] != isz or step % isz or step < width * isz:
        return None
    return [as_strided(v, (v.shape[0] - 1, step // isz), (step, isz)), v[-1:]]


def _sum_shape(shape: tuple[int, ...], red: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    """The shape of a sum over ``red`` of an array of ``shape``: those axes kept at length 1 or
    dropped."""
    if keepdims:
        return tuple(1 if a in red else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in red)


def _gathered_parts(spec: str, parts: Any, n1: int) -> tuple[Any, tuple[int, ...]]:
    """The per-block values of :func:`block_partials` or :func:`block_bounded` (``n1`` per
    output and block), concatenated along the reduced axes, as (M, blocks, ``n1``, rest of the
    reduced blocks), and the shape of the sums."""
    _, _, red, kept, keepdims = parse_spec(spec, parts.ndim)
    shape = parts.shape
    m = math.prod([shape[i] for i in kept])
    rest = math.prod([shape[i] for i in red[1:]])
    rows = _np_rows(parts, kept, red, m, shape[red[0]] * rest)
    return rows.reshape(m, shape[red[0]] // n1, n1, rest), _sum_shape(shape, red, keepdims)


def _unrows(res: Any, shape: tuple[int, ...], kept: list[int], axis: int) -> Any:
    """Row prefix sums (M, K) back in the layout of the array of ``shape`` they came from."""
    perm = (*kept, axis)
    res = res.reshape(tuple(shape[i] for i in perm))
    return res.transpose(tuple(perm.index(i) for i in range(len(shape))))


#: Most elements one task of a split sum or cumsum gathers: blocks along the reduced axes x
#: (EXPANSION + 1) x its block of outputs, whose kept axes are cut smaller to fit. Sums needing
#: more for a single output take the portable path.
SPLIT_MAX = 1 << 22


def split_plan(
    spec: str, chunks: tuple[tuple[int, ...], ...], out: str, n1: int = 0
) -> tuple[tuple[tuple[int, ...], ...], tuple[slice, ...], dict[int, int]] | None:
    """For a spec over an array chunked as ``chunks`` (dask's per-axis block lengths) whose
    reduced axes (a cumsum's axis) are split: the chunks of the per-block partials
    (:func:`block_partials`), the index of their overflow flags, and how to rechunk the
    partials (axis: block length) so that each task gathers the reduced axes whole and at most
    :data:`SPLIT_MAX` elements (the kept axes cut smaller where needed); ``None`` where the
    two-stage sum does not apply (complex results; one output past :data:`SPLIT_MAX`): the
    caller then runs the portable path. ``n1``: values per output and block, the expansion's
    and its flag by default (:data:`BOUNDED` for :func:`block_bounded`).

    >>> split_plan("sum:float64:0:0", ((3, 3),), "float64")
    (((43, 43),), (slice(42, None, 43),), {0: -1})
    >>> split_plan("sum:float64:0:0", ((3,) * 100, (10**5,)), "float64")[2]
    {0: -1, 1: 975}
    """
    if out not in FORMATS:
        return None
    _, _, red, kept, _ = parse_spec(spec, len(chunks))
    n1 = n1 or _host.EXPANSION + 1
    room = SPLIT_MAX // (math.prod(len(chunks[a]) for a in red) * n1)  # outputs per task
    if room < 1:
        return None
    r0 = red[0]
    parts = tuple(
        ((n1 if a == r0 else 1),) * len(c) if a in red else c for a, c in enumerate(chunks)
    )
    flags = tuple(slice(n1 - 1, None, n1) if a == r0 else slice(None) for a in range(len(chunks)))
    return parts, flags, _cut(chunks, red, kept, room)


def _cut(
    chunks: tuple[tuple[int, ...], ...], red: tuple[int, ...], kept: list[int], room: int
) -> dict[int, int]:
    """A rechunk (axis: block length) gathering the axes ``red`` whole, the ``kept`` axes cut
    so that a block holds at most ``room`` of their elements (at least one)."""
    gather = dict.fromkeys(red, -1)
    for a in reversed(kept):  # the last kept axes keep their blocks longest
        if max(chunks[a]) > room:
            gather[a] = room
        room = max(room // min(max(chunks[a]), room), 1)
    return gather


#: A split sum or cumsum rechunks its data so that the reduced axes are whole (then runs the
#: kernels block by block) where the per-block partials, EXPANSION + 1 float64 values per
#: output and block, would take more than this fraction of the data's bytes: blocks of 100 rows
#: of float32 data summed over axis 0 made partials of 86% of the data's size, 7-28x dask's sum.
GATHER_FRACTION = 1 / 8

#: The most bytes of one output's values that a split dask sum or cumsum whose block totals
#: passed float64's range gathers into one task (:func:`gather_plan` with ``overflowed``);
#: beyond it the portable path runs.
GATHER_MAX = 2**28


def component_spec(spec: str) -> str | None:
    """The spec for each component of a complex result's spec (its real dtype); ``None`` for a
    real result.

    >>> component_spec("cumsum:complex64:1"), component_spec("sum:float32:0:1")
    ('cumsum:float32:1', None)
    """
    op, out, *rest = spec.split(":")
    comp = COMPLEX_COMPONENT.get(out)
    return None if comp is None else ":".join([op, comp, *rest])


def keep_spec(spec: str, keepdims: bool) -> str:
    """The ``"sum:..."`` spec with its reduced axes kept at length 1 or dropped.

    >>> keep_spec("sum:float32:0,2:0", True), keep_spec("sum:float32:0,2:1", False)
    ('sum:float32:0,2:1', 'sum:float32:0,2:0')
    """
    op, out, axes, _ = spec.split(":")
    return f"{op}:{out}:{axes}:{int(keepdims)}"


def batched_spec(spec: str) -> str:
    """The spec for the input with a leading batch axis (``vmap``): every axis one further.

    >>> batched_spec("sum:float32:0,2:1"), batched_spec("cumsum:float64:0")
    ('sum:float32:1,3:1', 'cumsum:float64:1')
    """
    op, out, *rest = spec.split(":")
    if op == "sum":
        axes = ",".join(str(int(a) + 1) for a in rest[0].split(",") if a)
        return f"sum:{out}:{axes}:{rest[1]}"
    return f"cumsum:{out}:{int(rest[0]) + 1}"


def gather_plan(
    spec: str, chunks: tuple[tuple[int, ...], ...], itemsize: int, overflowed: bool = False
) -> dict[int, int] | None:
    """For a spec whose reduced axes (cumsum axis) are split across ``chunks``: the rechunk
    that gathers them whole, blocks no larger than the largest now (or than one output's
    values), where that beats per-block partials (:data:`GATHER_FRACTION`); else ``None``.
    With ``overflowed`` (block totals passed float64's range, which partials cannot hold):
    wherever one output's values fit :data:`GATHER_MAX` bytes.

    >>> gather_plan("sum:float32:0:0", ((100,) * 10, (10**4,)), 4)
    {0: -1, 1: 1000}
    >>> gather_plan("sum:float32:0:0", ((10**4,) * 10, (10**4,)), 4) is None
    True
    >>> gather_plan("sum:float64:0:0", ((10**4,) * 10, (10**4,)), 8, overflowed=True)
    {0: -1, 1: 1000}
    >>> gather_plan("sum:float64:0:0", ((10**8,) * 10, (1,)), 8, overflowed=True) is None
    True
    """
    _, out, red, kept, _ = parse_spec(spec, len(chunks))
    n_red = math.prod(builtins.sum(chunks[a]) for a in red)  # this module's sum shadows it
    blocks = math.prod(len(chunks[a]) for a in red)
    parts = 2 if out in COMPLEX_COMPONENT else 1  # complex: partials per component
    if overflowed:
        if n_red * itemsize > GATHER_MAX:
            return None
    elif parts * (_host.EXPANSION + 1) * 8 * blocks <= GATHER_FRACTION * n_red * itemsize:
        return None
    largest = math.prod(max(c) for c in chunks)
    return _cut(chunks, red, kept, max(largest // n_red, 1))


def block_partials(spec: str, a: Any) -> Any:
    """A block's part of a spec's sums (for a cumsum: its block totals along the axis) whose
    reduced axes are split across blocks:
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
    return _laid(np.concatenate([comps, over[:, None].astype(np.float64)], 1), a.shape, spec)


def _laid(rows: Any, shape: tuple[int, ...], spec: str) -> Any:
    """Per-output values ``rows`` (M, n) of a block of ``shape`` laid along the spec's first
    reduced axis (n long), its other reduced axes kept at length 1."""
    _, _, red, kept, _ = parse_spec(spec, len(shape))
    full = rows.reshape((*[shape[i] for i in kept], rows.shape[1]) + (1,) * (len(red) - 1))
    order = [*kept, *red]
    return full.transpose([order.index(i) for i in range(len(shape))])


#: Values per output and block of :func:`block_bounded`.
BOUNDED = 4


def block_bounded(spec: str, a: Any) -> Any:
    """A block's part of a ``"sum:..."`` spec's sums whose reduced axes are split across
    blocks, as the certified first try leaves it: per output ``(s, c, e, ok)``
    (:func:`_host.bounded`), laid as :func:`block_partials` lays its expansions. Cheaper than
    the exact expansions (one certified pass: 3.3 against 9.3 ms for 10**7 float64 values,
    1.1 against 2.5 ms for float32, one thread); :func:`finish_bounded` says where it is
    certain.

    >>> import numpy as np
    >>> if _host.available():
    ...     print(block_bounded("sum:float32:0:0", np.array([1.0, 2.0**-60], np.float32)).shape)
    ... else:
    ...     print((4,))
    (4,)
    """
    _, out, red, kept, _ = parse_spec(spec, a.ndim)
    m = math.prod([a.shape[i] for i in kept])
    k = math.prod([a.shape[i] for i in red])
    return _laid(_host.bounded(_np_rows(a, kept, red, m, k), out), a.shape, spec)


def finish_bounded(spec: str, parts: Any) -> Any:
    """The spec's sums from every block's :func:`block_bounded` (concatenated along the reduced
    axes, which are whole here), rounded where certain (:func:`_host.round_bounded`), NaN
    elsewhere (a certain sum is finite): the verdict travels in the result."""
    rows, like = _gathered_parts(spec, parts, BOUNDED)
    res, sure = _host.round_bounded(
        rows.transpose(0, 1, 3, 2).reshape(rows.shape[0], -1, BOUNDED),
        parse_spec(spec, parts.ndim)[1],
    )
    res[~sure] = float("nan")
    return res.reshape(like)


def finish_partials(spec: str, parts: Any) -> Any:
    """The spec's sums from every block's :func:`block_partials` (concatenated along the reduced
    axes, which are whole here): the exact sum of all components, rounded once to the output
    format. The overflow flags are not read (the caller checks them)."""
    rows, like = _gathered_parts(spec, parts, _host.EXPANSION + 1)
    comps = rows[:, :, :-1, :].reshape(rows.shape[0], -1)  # the flags left out
    return _host.sum_rows_wide(comps, parse_spec(spec, parts.ndim)[1]).reshape(like)


def block_carries(spec: str, totals: Any) -> Any:
    """For a ``"cumsum:..."`` spec whose axis is split across blocks: from the
    :func:`block_partials` of every block but the last (concatenated along the axis), every
    block's carry, the exact sum of the blocks before it, in the same layout (one block more): a
    float64 expansion, then a flag set where a block's total or a carry passed float64's range
    (the caller then runs the portable path). The first block's carry is -0, which adds nothing.

    >>> import numpy as np
    >>> if _host.available():
    ...     t = block_partials("sum:float64:0:0", np.array([1e300, 1.0]))
    ...     c = block_carries("cumsum:float64:0", np.concatenate([t, t]))
    ...     print(c[[0, 43, 44, 86, 87]].tolist())
    ... else:
    ...     print([-0.0, 1e300, 1.0, 2e300, 2.0])
    [-0.0, 1e+300, 1.0, 2e+300, 2.0]
    """
    import numpy as np

    _, _, red, kept, _ = parse_spec(spec, totals.ndim)
    n1 = _host.EXPANSION + 1
    m = math.prod([totals.shape[i] for i in kept])
    nb = totals.shape[red[0]] // n1
    tot = _np_rows(totals, kept, red, m, nb * n1).reshape(m, nb, n1)
    car = np.full((m, nb + 1, n1), -0.0)
    car[:, :, -1] = 0.0
    for j in range(nb):
        comps, over = _host.expansions(np.concatenate([car[:, j, :-1], tot[:, j, :-1]], 1))
        car[:, j + 1, :-1] = comps
        car[:, j + 1, -1] = over | (tot[:, j, -1] != 0) | (car[:, j, -1] != 0)
    shape = list(totals.shape)
    shape[red[0]] = (nb + 1) * n1
    return _unrows(car.reshape(m, -1), tuple(shape), kept, red[0])


def finish_cumsum(spec: str, a: Any, carry: Any) -> Any:
    """A block's part of a ``"cumsum:..."`` spec's prefix sums, from its carry (its part of
    :func:`block_carries`): the kernel's exact prefix sums of the carry's components followed
    by the block, each rounded once, the carry's own positions dropped. Only the components some
    row needs are prepended (one to three for normal data); none for an all -0 carry.

    >>> import numpy as np
    >>> if _host.available():
    ...     carry = np.array([1.0, -(2.0**-60)] + [-0.0] * 41)
    ...     print(finish_cumsum("cumsum:float32:0", np.full(2, 2.0**-24), carry).tolist())
    ... else:
    ...     print([1.0, 1.0000001192092896])
    [1.0, 1.0000001192092896]
    """
    import numpy as np

    _, out, red, kept, _ = parse_spec(spec, a.ndim)
    m = math.prod([a.shape[i] for i in kept])
    k = a.shape[red[0]]
    comps = _np_rows(carry, kept, red, m, _host.EXPANSION + 1)[:, :-1]
    used = np.flatnonzero(comps.any(0))  # a zero component past the first is -0
    n = int(used[-1]) + 1 if len(used) else int(not np.signbit(comps[:, 0]).all())
    if n == 0:
        return run_host(spec, a)
    w = np.empty((m, n + k), np.float64)
    w[:, :n] = comps[:, :n]
    w[:, n:] = _np_rows(a, kept, red, m, k)
    return _unrows(_host.cumsum_rows_wide(w, out)[:, n:], a.shape, kept, red[0])


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
    out_shape = _sum_shape(shape, red, keepdims)
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
        return be.run_compiled(portable, v, (spec, shape), out_shape, out) if y is None else y

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
        return be.run_compiled(portable, v, (spec, shape), shape, out) if y is None else y

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
