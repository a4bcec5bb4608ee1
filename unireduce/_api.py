"""The public reductions: one validation step, one computation step.

Each function resolves the call once (backend, profile, dtypes, axes; see :mod:`unireduce._resolve`)
and hands the adapter a normalised request. The profile decides the meaning; the adapter only
translates into framework ops.
"""

from __future__ import annotations

import operator
from typing import Any

from ._backend import Backend
from ._dtypes import KIND
from ._errors import AxisError, UnireduceTypeError, UnireduceValueError
from ._registry import _BY_TYPE, backend_of, backend_of_traced
from ._resolve import Plan, cumsum_axis, exact_precision, normalize_axes, plan

__all__ = ["cumsum", "cumulative_sum", "reduce_sum", "sum"]

Array = Any


def _flag(fn: str, name: str, value: object) -> bool:
    if value is True or value is False:
        return value
    raise UnireduceTypeError(f"{fn}: {name}={value!r} must be True or False")


def _ndim(fn: str, be: Backend, x: Array) -> int:
    ndim = be.ndim(x)
    if ndim is None:
        raise AxisError(
            f"{fn}: the rank of the input is unknown while tracing; give the tensor a known rank "
            "(for example with tf.ensure_shape) to reduce it"
        )
    return ndim


def _exact_mod(fn: str, precision: object, be: Backend, x: Array) -> Any:
    """The exact-mode engine, imported on first use (it brings NumPy and, if present, Numba),
    once ``precision`` and ``x``'s shape are known good: the exact programs are built for
    static lengths (blocks, digit windows), so a dimension known only when the program runs is
    refused (``None`` in a ``tf.function`` input signature, a ``jax.export`` symbolic
    dimension, NaN in a dask array of unknown chunk sizes; an unknown rank by :func:`_ndim`)."""
    exact_precision(fn, precision)  # refuses anything but "native" (not called for it), "exact"
    _ndim(fn, be, x)
    for i, n in enumerate(x.shape):
        try:
            operator.index(n)  # int, and torch's SymInt (torch.compile(dynamic=True))
        except TypeError:
            hint = " (call .compute_chunk_sizes() first)" if n != n else ""
            raise UnireduceValueError(
                f"{fn}: precision='exact' needs every dimension's length when the program is "
                f"built; dimension {i} of shape {tuple(x.shape)} is {n!r}{hint}"
            ) from None
    from . import _exact

    return _exact


def _exact_input(be: Backend, x: Array, p: Plan) -> Array:
    """Exact mode sums floats in the output dtype (cast first, rounded once: the frameworks'
    own casts may round twice or flush subnormals) and integers from their input (floats cast
    to the integer output first, as the reference does)."""
    if p.in_dtype == p.out or (KIND[p.out] not in "fc" and KIND[p.in_dtype] not in "fc"):
        return x
    from ._exact._cast import exact_cast, needs_exact_cast

    if KIND[p.out] in "fc" and needs_exact_cast(be, p.in_dtype, p.out):
        # Bit operations: differentiated as the framework's cast (the same linear map).
        cast = lambda v: be.astype(v, p.out_native)  # noqa: E731
        return be.with_grad_of(lambda v: exact_cast(be, v, p.in_dtype, p.out), cast, x)
    return be.astype(x, p.out_native)


def _resolve(fn: str, x: Array, dtype: object, semantics: object) -> tuple[Backend, Plan]:
    """The adapter of ``x`` and the :class:`Plan` of the call: the hot path of every call, with
    the registry's and the plan cache's lookups inlined (a backend with one dtype mode keeps its
    cache in ``_plan_cache``: no method call). Under torch.compile Dynamo traces
    :func:`_resolve_traced` instead (the torch adapter substitutes it)."""
    be = _BY_TYPE.get(type(x)) or backend_of(x)
    try:
        cache = be._plan_cache or be.plan_cache()
        p = cache.get((fn, semantics, x.dtype, type(dtype), dtype))
    except TypeError:  # an unhashable argument
        p = None
    return be, p if p is not None else plan(fn, semantics, be, x.dtype, dtype)


def _resolve_traced(fn: str, x: Array, dtype: object, semantics: object) -> tuple[Backend, Plan]:
    """:func:`_resolve` as a tracer that guards on the Python state it reads sees it (Dynamo:
    :func:`unireduce._registry.traced_substitutes`): no read of the registry's type cache or of
    an eager plan cache, both of which grow, and each entry added would recompile every function
    compiled before.

    >>> import numpy as np
    >>> _resolve_traced("sum", np.zeros(2, np.int8), None, "numpy")[1].out
    'int64'
    """
    be = backend_of_traced(x)
    return be, plan(fn, semantics, be, x.dtype, dtype)


def _reduce(
    fn: str,
    x: Array,
    axis: object,
    dtype: object,
    keepdims: object,
    semantics: object,
    name: str | None = None,
    precision: object = "native",
) -> Array:
    be, p = _resolve(fn, x, dtype, semantics)
    if p.full is not None and axis is None and keepdims is False and precision == "native":
        return p.full(x)  # the commonest call, as the adapter spells it (name is TF-only)
    if keepdims is not False:
        keepdims = _flag(fn, "keepdims", keepdims)
    if axis is None:  # every axis, under every profile
        axes: tuple[int, ...] | None = None
    else:
        ndim = _ndim(fn, be, x)
        axes = normalize_axes(fn, axis, ndim, p.prof, be)
        if not axes:
            # Nothing to reduce: the input, cast (array API; torch's dim=() differs, pytorch#29137).
            if precision != "native":
                exact = _exact_mod(fn, precision, be, x)  # validates the argument
                if KIND[p.out] in "fc":  # each element's sum of one: the cast, rounded once
                    return _exact_input(be, x, p)
                if KIND[p.out] in "iu" and KIND[p.in_dtype] in "iu" and p.in_dtype != p.out:
                    # Checked: each element summed alone, over an axis of length one.
                    one = be.reshape(x, (*(int(s) for s in x.shape), 1))
                    return exact.sum(be, one, (ndim,), False, p.out)
            return be.astype(x, p.out_native)
        if len(axes) == ndim:
            axes = None
    if precision != "native":
        return _exact_mod(fn, precision, be, x).sum(
            be, _exact_input(be, x, p), axes, keepdims, p.out
        )
    if p.cast_first:
        x = be.astype(x, p.out_native)  # cast, then add in the wider accumulator
    y = be.sum(x, axes, keepdims, p.work_native, name)
    if p.cast_out:
        y = be.astype(y, p.out_native)
    return y


def sum(
    x: Array,
    /,
    *,
    axis: int | tuple[int, ...] | list[int] | None = None,
    dtype: object = None,
    keepdims: bool = False,
    semantics: str = "array_api",
    precision: str = "native",
) -> Array:
    """Sum of ``x`` over ``axis`` with the array API's rules, on any backend.

    Signed integers and bool sum to the default integer, unsigned integers to the unsigned integer
    of that width, floats keep their dtype; ``dtype=`` casts the input first. ``axis=()`` reduces
    nothing. ``semantics`` picks another framework's rules (see :func:`unireduce.profiles`).
    ``precision="exact"`` returns the exact sum correctly rounded to the output dtype, the same
    bits on every backend and device, and checks integer results for overflow.

    >>> import numpy as np, unireduce as ur
    >>> ur.sum(np.array([200, 100], dtype=np.uint8))
    array(300, dtype=uint64)
    >>> ur.sum(np.array([100, 100], dtype=np.int8), dtype="int8")
    array(-56, dtype=int8)
    """
    return _reduce("sum", x, axis, dtype, keepdims, semantics, None, precision)


def reduce_sum(
    input_tensor: Array,
    axis: object = None,
    keepdims: bool | None = False,
    name: str | None = None,
    *,
    semantics: str = "tensorflow",
    precision: str = "native",
) -> Array:
    """``tf.math.reduce_sum`` on any backend: the result keeps the input dtype and wraps.

    ``axis`` is None, an int, a list or tuple of ints or a 0-d/1-D integer tensor; ``axis=[]``
    reduces nothing; bool input raises :class:`unireduce.DTypeError` as TensorFlow does. ``name``
    names the op on TensorFlow and is ignored elsewhere.

    >>> import numpy as np, unireduce as ur
    >>> ur.reduce_sum(np.array([100, 100], dtype=np.int8))
    array(-56, dtype=int8)
    """
    if name is not None and not isinstance(name, str):
        raise UnireduceTypeError(f"reduce_sum: name={name!r} must be a string or None")
    if keepdims is None:  # TF reads keepdims=None as False (TF1 code passes it)
        keepdims = False
    return _reduce("reduce_sum", input_tensor, axis, None, keepdims, semantics, name, precision)


def _cumulate(
    fn: str,
    x: Array,
    axis: object,
    dtype: object,
    exclusive: bool,
    reverse: bool,
    include_initial: bool,
    semantics: object,
    precision: object = "native",
) -> Array:
    be, p = _resolve(fn, x, dtype, semantics)
    prof = p.prof
    exact = None if precision == "native" else _exact_mod(fn, precision, be, x)
    if exclusive and include_initial:
        raise UnireduceValueError(
            f"{fn}: exclusive=True and include_initial=True overlap (both start the result with "
            "the zero); use include_initial=True for [0, x0, ..., sum] of length n+1, or "
            "exclusive=True for [0, x0, ..., sum minus the last] of length n"
        )
    ndim = _ndim(fn, be, x)
    # A flattening default (NumPy, JAX) makes any input 1-D, a 0-d one included.
    flatten = axis is None and prof.default_axis(fn) == "flatten"
    if ndim == 0 and not flatten:
        mode = prof.zero_d(fn)
        if mode == "error":
            raise AxisError(
                f"{fn}: a 0-d input has no axis to accumulate along "
                f"({prof.framework}); reshape it to 1-D first"
            )
        cumsum_axis(fn, axis, 1, prof)  # the one axis: 0 or -1, or a required axis is missing
        # "scalar" (torch): accumulate along a length-1 axis, then drop it again.
        squeeze = mode == "scalar"
        if squeeze and include_initial:
            raise AxisError(
                f"{fn}: include_initial=True needs an axis to extend, and {prof.framework} "
                "keeps a 0-d input 0-d; reshape it to 1-D first"
            )
        x, ndim, ax = be.reshape(x, (1,)), 1, 0
    else:
        squeeze = False
        maybe = None if flatten else cumsum_axis(fn, axis, ndim, prof)
        if maybe is None:
            x, ndim, ax = be.reshape(x, (-1,)), 1, 0
        else:
            ax = maybe
    work, native_work = p.work, p.work_native
    y = x
    if exact is not None:
        y = _exact_input(be, y, p)
    elif p.cast_first:
        y = be.astype(y, p.out_native)  # cast, then add in the wider accumulator
    if reverse:
        y = be.flip(y, ax)
    # Exact integers check every output's exact value, so an exclusive cumsum is the inclusive
    # one of [0, x0, ..., x(n-2)]: its last inclusive prefix is no output. (Floats shift after:
    # the prefix x0 of a -0.0 is -0.0, the sum 0 + -0.0 is +0.0.)
    shift_first = exclusive and exact is not None and KIND[p.out] not in "fc"
    if shift_first:
        y = be.drop_last(be.pad_zero_front(y, ax), ax)
    if exact is not None:
        y, work = exact.cumsum(be, y, ax, p.out), p.out
    else:
        y = be.cumsum(y, ax, native_work)
    if exclusive and not shift_first:
        y = be.drop_last(be.pad_zero_front(y, ax), ax)
    elif include_initial:
        y = be.pad_zero_front(y, ax)
    if reverse:
        y = be.flip(y, ax)
    if work != p.out:
        y = be.astype(y, p.out_native)
    return be.reshape(y, ()) if squeeze else y


def cumulative_sum(
    x: Array,
    /,
    *,
    axis: int | None = None,
    dtype: object = None,
    include_initial: bool = False,
    semantics: str = "array_api",
    precision: str = "native",
) -> Array:
    """Cumulative sum along ``axis`` with the array API's rules (``axis`` optional for 1-D only).

    >>> import numpy as np, unireduce as ur
    >>> ur.cumulative_sum(np.array([1, 2, 3], dtype=np.int8), include_initial=True)
    array([0, 1, 3, 6])
    """
    include_initial = _flag("cumulative_sum", "include_initial", include_initial)
    return _cumulate(
        "cumulative_sum", x, axis, dtype, False, False, include_initial, semantics, precision
    )


def cumsum(
    x: Array,
    /,
    axis: int | None = None,
    *,
    dtype: object = None,
    exclusive: bool = False,
    reverse: bool = False,
    include_initial: bool = False,
    semantics: str = "array_api",
    precision: str = "native",
) -> Array:
    """Cumulative sum with ``tf.math.cumsum``'s ``exclusive`` and ``reverse`` on any backend.

    ``exclusive=True`` gives ``[0, x0, x0+x1, ...]`` (length n), ``reverse=True`` accumulates
    from the end; ``include_initial=True`` prepends the zero (length n+1).

    >>> import numpy as np, unireduce as ur
    >>> ur.cumsum(np.array([1.0, 2.0, 3.0]), exclusive=True, reverse=True)
    array([5., 3., 0.])
    """
    exclusive = _flag("cumsum", "exclusive", exclusive)
    reverse = _flag("cumsum", "reverse", reverse)
    include_initial = _flag("cumsum", "include_initial", include_initial)
    return _cumulate(
        "cumsum", x, axis, dtype, exclusive, reverse, include_initial, semantics, precision
    )


# What tf.autograph.experimental.do_not_convert does, written out so TensorFlow is not imported:
# AutoGraph calls functions that carry this attribute as they are. unireduce has no tensor-dependent
# Python control flow, so converting it would only slow tracing down and re-raise our errors as
# AutoGraph StagingErrors instead of their own classes.
for _public in (sum, reduce_sum, cumulative_sum, cumsum):
    setattr(_public, "autograph_info__", None)  # noqa: B010 - a dunder-like foreign attribute
del _public
