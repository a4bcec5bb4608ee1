"""The exact reference: unireduce's four reductions on NumPy arrays, computed exactly.

Every result is what the rules promise, with no rounding error beyond the one final rounding:
integers are added as Python ints and wrapped two's-complement to the output dtype; floats are
added exactly (:mod:`unireduce._exactmath`) and rounded once, half to even, to the output dtype
(complex per component), with NaN, infinities, overflow and signed zero as IEEE 754 addition
defines them. Casts asked for with ``dtype=`` are exact too (correctly rounded, computed from the
bits, never with NumPy's casts). No arithmetic is shared with any backend.

The *rules* (output dtype, accumulator, axis handling, which inputs are refused) are not restated
here: they are resolved by :mod:`unireduce._resolve` against a stand-in backend that holds the
dtypes of the backend under test. :class:`Reference` is that configuration; the module functions
use the NumPy one (every dtype, int64 default integer). Errors are the same unireduce classes the
frontend raises.

``precision="exact"`` (as on the frontend) gives the same values, and raises
:class:`unireduce.IntegerOverflowError` where an integer output's exact value does not fit its
dtype instead of wrapping it: exact mode must match it to the bit.

For results a backend computes natively, :func:`error_bound` gives the per-element tolerance a
correct backend meets whatever its order of summation
(:func:`unireduce._exactmath.sum_error_bound`).

>>> import numpy as np
>>> from unireduce import reference as ref
>>> ref.sum(np.array([0.1, 0.2, 0.3], dtype=np.float32)).item() == np.float32(0.6).item()
True
>>> ref.sum(np.array([100, 100], dtype=np.int8), semantics="tensorflow")
array(-56, dtype=int8)
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterable
from itertools import accumulate
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ._backend import Backend
from ._capabilities import Capabilities
from ._dtypes import ALL_DTYPES, COMPLEX_COMPONENT, KIND, REAL_FLOAT
from ._errors import (
    AxisError,
    BackendError,
    DTypeError,
    IntegerOverflowError,
    UnireduceTypeError,
    UnireduceValueError,
)
from ._exactmath import (
    cumsum_error_bounds,
    exact_cumsum_along,
    exact_sum_along,
    float_format,
    int_fits,
    round_exact,
    sum_error_bound,
    wrap_int,
)
from ._resolve import cumsum_axis, exact_precision, normalize_axes, profile, resolve_dtypes
from ._rules import FUNCTIONS, Profile

__all__ = [
    "Reference",
    "cumsum",
    "cumulative_sum",
    "error_bound",
    "numpy_dtype",
    "reduce_sum",
    "sum",
]

Array = npt.NDArray[Any]


def numpy_dtype(name: str) -> np.dtype[Any]:
    """The NumPy dtype of a canonical name (``bfloat16`` is ``ml_dtypes.bfloat16``).

    >>> numpy_dtype("int8"), numpy_dtype("bfloat16").name
    (dtype('int8'), 'bfloat16')
    """
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    if name not in KIND:
        raise DTypeError(f"numpy_dtype: unknown dtype {name!r}; allowed: {', '.join(ALL_DTYPES)}")
    return np.dtype(name)


def _flag(fn: str, name: str, value: object) -> bool:
    if value is True or value is False:
        return value
    raise UnireduceTypeError(f"{fn}: {name}={value!r} must be True or False")


# ------------------------------------------------------------------------------------------
# exact casts


def _float_parts(v: float) -> tuple[int, int]:
    """``(num, exp)`` with ``v == num * 2**exp`` exactly (finite ``v``)."""
    num, den = float(v).as_integer_ratio()
    return num, -(den.bit_length() - 1)


def _exact_cast(x: Array, in_name: str, out: str) -> Array:
    """``x`` (canonical dtype ``in_name``) converted to ``out`` exactly, then rounded once.

    Integers and bool wrap two's-complement into an integer ``out``; floats go to integers by
    truncation toward zero (finite, in-range values: other values have no agreed meaning);
    anything goes to a float ``out`` correctly rounded, half to even.
    """
    if in_name == out:
        return np.array(x, copy=True)
    dt = numpy_dtype(out)
    kind_in, kind_out = KIND[in_name], KIND[out]
    if kind_out == "c":
        comp = COMPLEX_COMPONENT[out]
        res = np.zeros(x.shape, dtype=dt)
        if kind_in == "c":
            re_name = COMPLEX_COMPONENT[in_name]
            res.real = _exact_cast(np.ascontiguousarray(x.real), re_name, comp)
            res.imag = _exact_cast(np.ascontiguousarray(x.imag), re_name, comp)
        else:
            res.real = _exact_cast(x, in_name, comp)
        return res
    if kind_out in "iub":
        if kind_in == "f":
            ints = [int(float(v)) for v in x.reshape(-1).tolist()]  # truncation toward zero
        else:
            ints = [int(v) for v in x.reshape(-1).tolist()]
        if out == "bool":
            return np.array([v != 0 for v in ints], dtype=bool).reshape(x.shape)
        return np.array([wrap_int(v, out) for v in ints], dtype=dt).reshape(x.shape)
    flat: list[Any] = []
    for v in x.reshape(-1).tolist():
        if kind_in in "iub":
            flat.append(round_exact(int(v), 0, out))
            continue
        f = float(v)
        if f != f or f in (float("inf"), float("-inf")) or f == 0.0:
            flat.append(np.array(f).astype(dt))  # NaN, infinities and signed zeros are exact
        else:
            num, exp = _float_parts(f)
            flat.append(round_exact(num, exp, out))
    return np.array(flat, dtype=dt).reshape(x.shape)


# ------------------------------------------------------------------------------------------
# the stand-in backend the rules are resolved against


class _StandIn(Backend):
    """NumPy's adapter as the backend under test sees rules: its dtypes, its default integer.

    Only the dtype and axis questions of :mod:`unireduce._resolve` are asked of it; it computes
    nothing (the reference's arithmetic is :mod:`unireduce._exactmath`).
    """

    name: ClassVar[str] = "reference"
    modules: ClassVar[tuple[str, ...]] = ("numpy",)

    def __init__(self, dtypes: frozenset[str], default_int: str) -> None:
        from ._registry import get_backend

        self._np = get_backend("numpy")
        self._held = self._np.supported_dtypes() & dtypes
        self._default_int = default_int

    def is_array(self, x: object) -> bool:
        return isinstance(x, (np.ndarray, np.generic))

    def dtype_name(self, native: object) -> str | None:
        return self._np.dtype_name(native)

    def native_dtype(self, name: str) -> Any:
        return self._np.native_dtype(name)

    def supported_dtypes(self) -> frozenset[str]:
        return self._held

    def default_int(self) -> str:
        return self._default_int

    def axis_values(self, axis: object) -> tuple[int, ...] | None:
        return self._np.axis_values(axis)

    def ndim(self, x: Array) -> int:
        return int(np.ndim(x))

    def _no(self, what: str) -> Any:
        raise NotImplementedError(f"the reference's stand-in backend does not compute ({what})")

    def astype(self, x: Array, dtype: Any) -> Any:
        return self._no("astype")

    def sum(
        self,
        x: Array,
        axes: tuple[int, ...] | None,
        keepdims: bool,
        dtype: Any,
        name: str | None = None,
    ) -> Any:
        return self._no("sum")

    def cumsum(self, x: Array, axis: int, dtype: Any) -> Any:
        return self._no("cumsum")

    def flip(self, x: Array, axis: int) -> Any:
        return self._no("flip")

    def pad_zero_front(self, x: Array, axis: int) -> Any:
        return self._no("pad_zero_front")

    def reshape(self, x: Array, shape: tuple[int, ...]) -> Any:
        return self._no("reshape")


class Reference:
    """The reference for a backend that holds ``dtypes`` and has default integer ``default_int``.

    Rules whose result depends on the backend (the array API's default integer, a result dtype
    the backend cannot hold) are resolved as for that backend: JAX with ``jax_enable_x64`` off
    is ``Reference(dtypes=<no 64-bit types>, default_int="int32")``, or simply
    ``Reference.like(ur.get_backend("jax"))`` while the flag is off.

    >>> import numpy as np
    >>> Reference(default_int="int32").sum(np.array([1, 2], dtype=np.int8)).dtype
    dtype('int32')
    >>> jax32 = Reference(dtypes=frozenset(ALL_DTYPES) - {"int64", "uint64", "float64",
    ...                                                   "complex128"}, default_int="int32")
    >>> jax32.sum(np.array([1], dtype=np.int32), semantics="torch")
    Traceback (most recent call last):
    ...
    unireduce._errors.DTypeError: sum: the result dtype int64 (rules of PyTorch ...
    """

    def __init__(self, dtypes: Iterable[str] | None = None, default_int: str = "int64") -> None:
        held = frozenset(ALL_DTYPES if dtypes is None else dtypes)
        unknown = held - set(ALL_DTYPES)
        if unknown or default_int not in held or KIND[default_int] != "i":
            raise UnireduceValueError(
                f"Reference: dtypes={sorted(held)!r}, default_int={default_int!r}: the dtypes "
                f"must be among {', '.join(ALL_DTYPES)} and the default integer a signed one "
                "of them"
            )
        self.dtypes = held
        self.default_int = default_int
        self._be = _StandIn(held, default_int)

    @classmethod
    def like(cls, backend: Any) -> Reference:
        """The reference for a :class:`unireduce.Backend` as it is configured now."""
        return cls(backend.supported_dtypes(), backend.default_int())

    def __repr__(self) -> str:
        return f"Reference(dtypes={sorted(self.dtypes)!r}, default_int={self.default_int!r})"

    # ------------------------------------------------------------------ common steps
    def _input(self, fn: str, x: object) -> tuple[Array, str]:
        if not isinstance(x, (np.ndarray, np.generic)):
            t = type(x)
            raise BackendError(
                f"reference.{fn}: {t.__module__}.{t.__qualname__} is not a NumPy array; the "
                "reference takes NumPy arrays (bfloat16 as ml_dtypes.bfloat16)"
            )
        arr = np.asarray(x)
        name = self._be.dtype_name(arr.dtype)
        if name is None:
            raise DTypeError(
                f"{fn}: the input dtype {arr.dtype!r} is not supported; allowed: "
                f"{', '.join(ALL_DTYPES)}"
            )
        return arr, name

    def _resolve(
        self, fn: str, x: object, dtype: object, semantics: object
    ) -> tuple[Array, str, str, str, Profile]:
        arr, in_name = self._input(fn, x)
        prof = profile(fn, semantics)
        out, work = resolve_dtypes(fn, prof, in_name, dtype, self._be)
        return arr, in_name, out, work, prof

    def _reduce_axes(
        self, fn: str, arr: Array, axis: object, keepdims: object, prof: Profile
    ) -> tuple[tuple[int, ...] | None, bool]:
        """The axes to reduce (``None``: nothing, just cast) and the checked keepdims."""
        if keepdims is not False:
            keepdims = _flag(fn, "keepdims", keepdims)
        if axis is None and prof.empty_axis == "none":
            return tuple(range(arr.ndim)), bool(keepdims)
        axes = normalize_axes(fn, axis, arr.ndim, prof, self._be)
        return (axes or None), bool(keepdims)

    def _cumulate_layout(
        self,
        fn: str,
        arr: Array,
        axis: object,
        exclusive: bool,
        include_initial: bool,
        prof: Profile,
    ) -> tuple[Array, int, bool]:
        """``(x, axis, squeeze)``: the input as the cumulative sum runs on it (as ``_api``)."""
        if exclusive and include_initial:
            raise UnireduceValueError(
                f"{fn}: exclusive=True and include_initial=True overlap (both start the result "
                "with the zero)"
            )
        ndim = arr.ndim
        flatten = axis is None and prof.default_axis(fn) == "flatten"
        if ndim == 0 and not flatten:
            mode = prof.zero_d(fn)
            if mode == "error":
                raise AxisError(f"{fn}: a 0-d input has no axis to accumulate along")
            cumsum_axis(fn, axis, 1, prof)
            squeeze = mode == "scalar"
            if squeeze and include_initial:
                raise AxisError(f"{fn}: include_initial=True needs an axis to extend")
            return arr.reshape(1), 0, squeeze
        ax = None if flatten else cumsum_axis(fn, axis, ndim, prof)
        if ax is None:
            return arr.reshape(-1), 0, False
        return arr, ax, False

    # ------------------------------------------------------------------ the four functions
    def _sum(
        self,
        fn: str,
        x: object,
        axis: object,
        dtype: object,
        keepdims: object,
        semantics: object,
        precision: object = "native",
    ) -> Array:
        arr, in_name, out, _, prof = self._resolve(fn, x, dtype, semantics)
        axes, keep = self._reduce_axes(fn, arr, axis, keepdims, prof)
        exact = exact_precision(fn, precision)
        if axes is None:
            if exact and KIND[in_name] in "iu":  # each element a sum of one, checked
                _check_fits(fn, arr.reshape(-1).tolist(), out)
            return _exact_cast(arr, in_name, out)
        if KIND[out] in "fc" or KIND[in_name] in "fc":
            arr = _exact_cast(arr, in_name, out)
        if exact:
            norm = sorted(a % arr.ndim for a in axes)
            kept = [a for a in range(arr.ndim) if a not in norm]
            k = math.prod(arr.shape[a] for a in norm)
            rows = np.transpose(arr, kept + norm).reshape(-1, max(1, k))
            _check_fits(fn, (_py_sum(r) for r in rows.tolist()) if arr.size else (), out)
        return exact_sum_along(arr, axes, keep, out)

    def _cumsum(
        self,
        fn: str,
        x: object,
        axis: object,
        dtype: object,
        exclusive: bool,
        reverse: bool,
        include_initial: bool,
        semantics: object,
        precision: object = "native",
    ) -> Array:
        arr, in_name, out, _, prof = self._resolve(fn, x, dtype, semantics)
        exact = exact_precision(fn, precision)
        arr, ax, squeeze = self._cumulate_layout(fn, arr, axis, exclusive, include_initial, prof)
        if KIND[out] in "fc" or KIND[in_name] in "fc":
            arr = _exact_cast(arr, in_name, out)
        if reverse:
            arr = np.flip(arr, ax)
        if exact and arr.ndim and arr.size:  # every output's exact prefix (not an exclusive total)
            rows = np.moveaxis(arr, ax, -1).reshape(-1, arr.shape[ax]).tolist()
            drop = 1 if exclusive else 0
            _check_fits(fn, (v for r in rows for v in list(accumulate(r))[: len(r) - drop]), out)
        y = exact_cumsum_along(arr, ax, out) if arr.ndim else arr
        y = _shift(y, ax, exclusive, include_initial)
        if reverse:
            y = np.flip(y, ax)
        y = np.ascontiguousarray(y)
        return y.reshape(()) if squeeze else y

    def sum(
        self,
        x: Array,
        /,
        *,
        axis: int | tuple[int, ...] | list[int] | None = None,
        dtype: object = None,
        keepdims: bool = False,
        semantics: str = "array_api",
        precision: str = "native",
    ) -> Array:
        """Exact :func:`unireduce.sum`."""
        return self._sum("sum", x, axis, dtype, keepdims, semantics, precision)

    def reduce_sum(
        self,
        input_tensor: Array,
        axis: object = None,
        keepdims: bool | None = False,
        name: str | None = None,
        *,
        semantics: str = "tensorflow",
        precision: str = "native",
    ) -> Array:
        """Exact :func:`unireduce.reduce_sum`."""
        if name is not None and not isinstance(name, str):
            raise UnireduceTypeError(f"reduce_sum: name={name!r} must be a string or None")
        if keepdims is None:  # as TensorFlow (and unireduce.reduce_sum)
            keepdims = False
        return self._sum("reduce_sum", input_tensor, axis, None, keepdims, semantics, precision)

    def cumulative_sum(
        self,
        x: Array,
        /,
        *,
        axis: int | None = None,
        dtype: object = None,
        include_initial: bool = False,
        semantics: str = "array_api",
        precision: str = "native",
    ) -> Array:
        """Exact :func:`unireduce.cumulative_sum`."""
        include_initial = _flag("cumulative_sum", "include_initial", include_initial)
        return self._cumsum(
            "cumulative_sum", x, axis, dtype, False, False, include_initial, semantics, precision
        )

    def cumsum(
        self,
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
        """Exact :func:`unireduce.cumsum`."""
        exclusive = _flag("cumsum", "exclusive", exclusive)
        reverse = _flag("cumsum", "reverse", reverse)
        include_initial = _flag("cumsum", "include_initial", include_initial)
        return self._cumsum(
            "cumsum", x, axis, dtype, exclusive, reverse, include_initial, semantics, precision
        )

    # ------------------------------------------------------------------ error bounds
    def error_bound(
        self,
        function: str,
        x: Array,
        /,
        *,
        axis: object = None,
        dtype: object = None,
        keepdims: bool = False,
        exclusive: bool = False,
        reverse: bool = False,
        include_initial: bool = False,
        semantics: str | None = None,
        capabilities: Capabilities | None = None,
        device: str = "cpu",
    ) -> Array:
        """Per-element bound on ``|native result - reference result|`` for a correct backend.

        Same shape as the result. Zero for integer and bool results (they must be exact);
        float64 for real float results; for complex results a complex128 array whose real and
        imaginary parts bound the two components. ``inf`` where anything is acceptable (an
        intermediate sum may overflow). The accumulator is the profile's (its accumulator table,
        or the output dtype), subnormal flushing comes from ``capabilities`` on ``device``.
        Raises as the function itself would for invalid arguments.
        """
        if function not in FUNCTIONS:
            raise UnireduceValueError(
                f"error_bound: unknown function={function!r}; allowed: "
                f"{', '.join(map(repr, FUNCTIONS))}"
            )
        fn = function
        if semantics is None:
            semantics = "tensorflow" if fn == "reduce_sum" else "array_api"
        if fn == "reduce_sum" and dtype is not None:
            raise UnireduceTypeError("error_bound: reduce_sum takes no dtype= argument")
        flush = capabilities is not None and capabilities.flushes_subnormals_on(device)
        arr, in_name, out, work, prof = self._resolve(fn, x, dtype, semantics)
        with np.errstate(all="ignore"):  # bounds round up through inf on purpose
            return self._bound(
                fn,
                arr,
                in_name,
                out,
                work,
                prof,
                flush,
                axis,
                keepdims,
                exclusive,
                reverse,
                include_initial,
            )

    def _bound(
        self,
        fn: str,
        arr: Array,
        in_name: str,
        out: str,
        work: str,
        prof: Profile,
        flush: bool,
        axis: object,
        keepdims: object,
        exclusive: bool,
        reverse: bool,
        include_initial: bool,
    ) -> Array:
        if KIND[out] not in "fc":
            # Validate the rest of the call as the function does, then: exact.
            shape = self._result_shape(fn, arr, axis, keepdims, exclusive, include_initial, prof)
            return np.zeros(shape, dtype=np.float64)
        xs = _exact_cast(arr, in_name, out)
        if KIND[out] == "c":
            comp, acc = COMPLEX_COMPONENT[out], COMPLEX_COMPONENT.get(work, work)
            parts = []
            in_comp = COMPLEX_COMPONENT.get(in_name, in_name)
            for raw, part in (
                (np.real(arr) if KIND[in_name] == "c" else arr, np.real(xs)),
                (np.imag(arr) if KIND[in_name] == "c" else np.zeros_like(arr), np.imag(xs)),
            ):
                parts.append(
                    self._real_bound(
                        fn,
                        np.ascontiguousarray(raw),
                        in_comp,
                        np.ascontiguousarray(part),
                        comp,
                        acc,
                        flush,
                        axis,
                        keepdims,
                        exclusive,
                        reverse,
                        include_initial,
                        prof,
                    )
                )
            both = np.empty(parts[0].shape, dtype=np.complex128)
            both.real, both.imag = parts[0], parts[1]
            return both
        return self._real_bound(
            fn,
            arr,
            in_name,
            xs,
            out,
            work,
            flush,
            axis,
            keepdims,
            exclusive,
            reverse,
            include_initial,
            prof,
        )

    def _result_shape(
        self,
        fn: str,
        arr: Array,
        axis: object,
        keepdims: object,
        exclusive: bool,
        include_initial: bool,
        prof: Profile,
    ) -> tuple[int, ...]:
        if fn in ("sum", "reduce_sum"):
            axes, keep = self._reduce_axes(fn, arr, axis, keepdims, prof)
            if axes is None:
                return arr.shape
            return tuple(
                1 if a in axes else n for a, n in enumerate(arr.shape) if keep or a not in axes
            )
        y, ax, squeeze = self._cumulate_layout(fn, arr, axis, exclusive, include_initial, prof)
        if squeeze:
            return ()
        shape = list(y.shape)
        shape[ax] += int(include_initial)
        return tuple(shape)

    def _real_bound(
        self,
        fn: str,
        raw: Array,
        in_name: str,
        xs: Array,
        out: str,
        acc: str,
        flush: bool,
        axis: object,
        keepdims: object,
        exclusive: bool,
        reverse: bool,
        include_initial: bool,
        prof: Profile,
    ) -> Array:
        """Bounds for a real float result: ``xs`` is ``raw`` (dtype ``in_name``) cast to ``out``."""
        extra = _input_flush(raw, in_name) if flush else np.zeros(raw.shape)
        if fn in ("sum", "reduce_sum"):
            axes, keep = self._reduce_axes(fn, xs, axis, keepdims, prof)
            if axes is None:  # a cast: exact, unless subnormals are flushed
                return _cast_bound(xs, in_name, out) if flush else np.zeros(xs.shape)
            keep_axes = [a for a in range(xs.ndim) if a not in axes]
            order = keep_axes + list(axes)
            kept_shape = tuple(xs.shape[a] for a in keep_axes)
            m = int(np.prod(kept_shape, dtype=np.int64))
            k = int(np.prod([xs.shape[a] for a in axes], dtype=np.int64))
            rows = np.transpose(xs, order).reshape(m, k)
            extras = np.transpose(extra, order).reshape(m, k)
            bounds = np.array(
                [
                    _add_up(sum_error_bound(rows[i], acc, out, flush), extras[i].sum())
                    for i in range(m)
                ],
                dtype=np.float64,
            )
            if keep:
                shape = tuple(1 if a in axes else n for a, n in enumerate(xs.shape))
            else:
                shape = kept_shape
            return bounds.reshape(shape)
        y, ax, squeeze = self._cumulate_layout(fn, xs, axis, exclusive, include_initial, prof)
        e, _, _ = self._cumulate_layout(fn, extra, axis, exclusive, include_initial, prof)
        if reverse:
            y, e = np.flip(y, ax), np.flip(e, ax)
        moved, emoved = np.moveaxis(y, ax, -1), np.moveaxis(e, ax, -1)
        n_lanes = int(np.prod(moved.shape[:-1], dtype=np.int64))
        lanes = moved.reshape(n_lanes, moved.shape[-1])
        elanes = emoved.reshape(n_lanes, moved.shape[-1])
        b = np.empty(lanes.shape, dtype=np.float64)
        for i in range(lanes.shape[0]):
            b[i] = cumsum_error_bounds(np.ascontiguousarray(lanes[i]), acc, out, flush)
            b[i] = _add_up(b[i], np.cumsum(elanes[i]))
        bounds = np.moveaxis(b.reshape(moved.shape), -1, ax)
        bounds = _shift(bounds, ax, exclusive, include_initial)
        if reverse:
            bounds = np.flip(bounds, ax)
        bounds = np.ascontiguousarray(bounds)
        return bounds.reshape(()) if squeeze else bounds


def _py_sum(row: list[Any]) -> int:
    return builtins.sum(int(v) for v in row)


def _check_fits(fn: str, values: Iterable[Any], out: str) -> None:
    """Exact mode's integer check: every output's exact value (Python ints) fits ``out``."""
    if KIND[out] not in "iu":
        return
    for v in values:
        if not int_fits(int(v), out):
            raise IntegerOverflowError(
                f"{fn}: with precision='exact' the exact integer result {int(v)} does not fit the "
                f"output dtype {out}; request a wider dtype"
            )


def _shift(y: Array, ax: int, exclusive: bool, include_initial: bool) -> Array:
    """Prepend a zero along ``ax`` (``include_initial``), and drop the last (``exclusive``)."""
    if not (exclusive or include_initial):
        return y
    shape = list(y.shape)
    shape[ax] = 1
    y = np.concatenate([np.zeros(shape, dtype=y.dtype), y], axis=ax)
    if exclusive:
        y = y[(slice(None),) * ax + (slice(0, -1),)]
    return y


def _input_flush(raw: Array, in_name: str) -> Array:
    """``|x|`` where ``x`` is subnormal in its own (float) dtype, else 0, rounded up (float64)."""
    if KIND[in_name] != "f":
        return np.zeros(raw.shape)
    tiny = float(float_format(in_name).smallest_normal)
    mag = np.abs(raw.astype(np.float64))
    sub = np.isfinite(mag) & (mag > 0) & (mag < tiny)
    return np.where(sub, np.nextafter(mag, np.inf), 0.0)


def _cast_bound(xs: Array, in_name: str, out: str) -> Array:
    """A flushing backend may turn a value subnormal in either dtype into zero."""
    tiny = float(float_format(out).smallest_normal)
    if in_name in REAL_FLOAT:
        tiny = max(tiny, float(float_format(in_name).smallest_normal))
    mag = np.abs(xs.astype(np.float64))
    return np.where(np.isfinite(mag) & (mag < tiny), tiny, 0.0)


def _add_up(a: Any, b: Any) -> Any:
    """``a + b`` rounded up (both non-negative float64)."""
    with np.errstate(over="ignore"):
        s = np.asarray(a, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        return np.where(np.asarray(b) > 0, np.nextafter(s, np.inf), s)


# ------------------------------------------------------------------------------------------
# module-level API: the reference for NumPy (every dtype, default integer int64)

_NUMPY = Reference()


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
    """Exact :func:`unireduce.sum` on a NumPy array: correctly rounded, integers wrapped
    (``precision="exact"``: checked).

    >>> import numpy as np
    >>> sum(np.array([2.0**24, 1.0, 1.0], dtype=np.float32)).item()
    16777218.0
    >>> sum(np.array([[1, 2], [3, 4]], dtype=np.uint8), axis=1, keepdims=True).tolist()
    [[3], [7]]
    >>> try:
    ...     sum(np.array([100, 100], dtype=np.int8), dtype="int8", precision="exact")
    ... except OverflowError as e:
    ...     print(str(e).split(" the output")[0])
    sum: with precision='exact' the exact integer result 200 does not fit
    """
    return _NUMPY.sum(
        x, axis=axis, dtype=dtype, keepdims=keepdims, semantics=semantics, precision=precision
    )


def reduce_sum(
    input_tensor: Array,
    axis: object = None,
    keepdims: bool | None = False,
    name: str | None = None,
    *,
    semantics: str = "tensorflow",
    precision: str = "native",
) -> Array:
    """Exact :func:`unireduce.reduce_sum` on a NumPy array.

    >>> import numpy as np
    >>> reduce_sum(np.array([127, 1], dtype=np.int8)).item()
    -128
    """
    return _NUMPY.reduce_sum(
        input_tensor, axis, keepdims, name, semantics=semantics, precision=precision
    )


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
    """Exact :func:`unireduce.cumulative_sum` on a NumPy array: every prefix correctly rounded.

    >>> import numpy as np
    >>> cumulative_sum(np.ones(3, dtype=np.float16), include_initial=True).tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    return _NUMPY.cumulative_sum(
        x,
        axis=axis,
        dtype=dtype,
        include_initial=include_initial,
        semantics=semantics,
        precision=precision,
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
    """Exact :func:`unireduce.cumsum` on a NumPy array.

    >>> import numpy as np
    >>> cumsum(np.array([1, 2, 3], dtype=np.int32), exclusive=True, reverse=True).tolist()
    [5, 3, 0]
    """
    return _NUMPY.cumsum(
        x,
        axis,
        dtype=dtype,
        exclusive=exclusive,
        reverse=reverse,
        include_initial=include_initial,
        semantics=semantics,
        precision=precision,
    )


def error_bound(
    function: str,
    x: Array,
    /,
    *,
    axis: object = None,
    dtype: object = None,
    keepdims: bool = False,
    exclusive: bool = False,
    reverse: bool = False,
    include_initial: bool = False,
    semantics: str | None = None,
    capabilities: Capabilities | None = None,
    device: str = "cpu",
) -> Array:
    """Per-element tolerance a correct native backend meets for ``function(x, ...)``.

    See :meth:`Reference.error_bound`. ``capabilities`` (a backend's
    :class:`unireduce.Capabilities`) says whether subnormals are flushed on ``device``.

    >>> import numpy as np
    >>> x = np.array([1.0, 2.0**-24, 2.0**-24], dtype=np.float32)
    >>> float(error_bound("sum", x)) >= 2.0**-23
    True
    >>> error_bound("sum", np.array([1, 2], dtype=np.int8)).item()
    0.0
    """
    return _NUMPY.error_bound(
        function,
        x,
        axis=axis,
        dtype=dtype,
        keepdims=keepdims,
        exclusive=exclusive,
        reverse=reverse,
        include_initial=include_initial,
        semantics=semantics,
        capabilities=capabilities,
        device=device,
    )
