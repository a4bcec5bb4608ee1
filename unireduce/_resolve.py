"""Resolution of one call against one profile: dtypes and axes, decided once, in the frontend.

The result of dtype resolution is a :class:`Plan`, cached per (backend, backend mode, function,
profile, input dtype, ``dtype=`` argument), so a repeated call costs one dict lookup. Axis
normalisation returns a sorted tuple of non-negative ints.

>>> from unireduce._resolve import normalize_axes
>>> from unireduce._rules import PROFILES
>>> normalize_axes("sum", (-1, 0), 3, PROFILES["array_api"], None)
(0, 2)
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from ._backend import Backend
from ._dtypes import ALL_DTYPES, KIND
from ._errors import AxisError, DTypeError, UnireduceTypeError, UnireduceValueError
from ._rules import PROFILES, REFUSE, SIXTY_FOUR_BIT, Profile

__all__ = [
    "Plan",
    "canonical_dtype",
    "cumsum_axis",
    "exact_precision",
    "normalize_axes",
    "plan",
    "profile",
    "resolve_dtypes",
]

#: The values of ``precision=`` and what each means (the functions, the reference, ``ur.Sum``).
PRECISIONS: dict[str, str] = {
    "native": "the backend's own accumulation",
    "exact": "correctly rounded, bit-reproducible",
}


def exact_precision(fn: str, precision: object) -> bool:
    """Whether ``precision=`` asks for exact mode; a value not in :data:`PRECISIONS` raises.

    >>> exact_precision("sum", "exact"), exact_precision("sum", "native")
    (True, False)
    """
    if precision == "exact" or precision == "native":
        return precision == "exact"
    allowed = ", ".join(f"{k!r} ({v})" for k, v in PRECISIONS.items())
    raise UnireduceValueError(f"{fn}: precision={precision!r} is not allowed; allowed: {allowed}")


class Plan(NamedTuple):
    """How to compute one call: canonical names and the backend's native dtype objects."""

    in_dtype: str
    out: str
    work: str
    out_native: Any
    work_native: Any
    prof: Profile
    #: A float result accumulated wider than itself: cast the input to ``out`` first, then add.
    cast_first: bool
    #: The working dtype differs from the output: cast the result at the end.
    cast_out: bool
    #: The adapter's function for a plain full sum (axis=None, keepdims=False), if it has one.
    full: Callable[[Any], Any] | None


def profile(fn: str, semantics: object) -> Profile:
    """The :class:`Profile` named ``semantics``."""
    try:
        return PROFILES[semantics]  # type: ignore[index]
    except (KeyError, TypeError):
        raise UnireduceValueError(
            f"{fn}: unknown semantics={semantics!r}; allowed: {', '.join(map(repr, PROFILES))}"
        ) from None


def canonical_dtype(fn: str, dtype: object, be: Backend | None) -> str:
    """The canonical name of a ``dtype=`` argument: a name, or any loaded framework's dtype.

    >>> canonical_dtype("sum", "int8", None)
    'int8'
    """
    if isinstance(dtype, str):
        if dtype in KIND:
            return dtype
        raise DTypeError(f"{fn}: unknown dtype {dtype!r}; allowed names: {', '.join(ALL_DTYPES)}")
    if be is not None:
        name = be.dtype_name(dtype)
        if name is not None:
            return name
    # Another framework's dtype object (np.int8 for a torch tensor, say).
    from ._registry import _INSTANCES, get_backend, registered_backends

    for other in registered_backends():
        inst = _INSTANCES.get(other)
        if inst is None:
            from ._registry import _CLASSES

            cls = _CLASSES[other]
            if not all(m in sys.modules for m in cls.modules):
                continue
            inst = get_backend(other)
        name = inst.dtype_name(dtype)
        if name is not None:
            return name
    raise DTypeError(
        f"{fn}: dtype={dtype!r} is not a dtype unireduce knows; allowed: the names "
        f"{', '.join(ALL_DTYPES)} or a framework dtype object with one of those names"
    )


def _token_dtype(token: str, in_name: str, prof: Profile, be: Backend | None) -> str:
    if token == "same":
        return in_name
    if token in KIND:
        return token
    # No backend (ur.result_dtype without one): the array API's usual default, int64.
    default_int = prof.default_int or (be.default_int() if be is not None else "int64")
    if token == "default_int":
        return default_int
    if token == "default_uint":
        return "u" + default_int
    raise AssertionError(f"unknown dtype token {token!r}")  # pragma: no cover


def resolve_dtypes(
    fn: str, prof: Profile, in_name: str, dtype: object, be: Backend | None
) -> tuple[str, str]:
    """(output dtype, working dtype) for ``fn`` on input ``in_name`` under ``prof``.

    Raises :class:`DTypeError` for refused inputs and for dtypes the backend cannot hold.
    ``be=None`` resolves for a backend that holds every dtype (``ur.result_dtype``).
    """
    if prof.refuse_64bit and in_name in SIXTY_FOUR_BIT:
        raise DTypeError(
            f"{fn}: {prof.framework} would silently narrow the 64-bit input ({in_name}) to 32 "
            "bits (jax#18385); use semantics='jax_x64', or cast the input to a 32-bit dtype"
        )
    if dtype is not None:
        if not prof.dtype_arg:
            raise DTypeError(
                f"{fn}: {prof.framework} takes no dtype= argument (got dtype={dtype!r}); cast the "
                "input first, or use semantics='array_api'"
            )
        out = canonical_dtype(fn, dtype, be)
        if out == "bool":
            raise DTypeError(
                f"{fn}: dtype='bool' is not allowed: a sum needs a numeric dtype; allowed: "
                "integer, floating and complex dtypes"
            )
        if KIND[in_name] == "c" and KIND[out] != "c":
            raise DTypeError(
                f"{fn}: cannot sum complex input ({in_name}) as {out}: the cast would discard "
                "the imaginary parts (the array API forbids it); take the real part first"
            )
        if prof.refuse_64bit and out in SIXTY_FOUR_BIT:
            raise DTypeError(
                f"{fn}: {prof.framework} would silently narrow dtype={out} to 32 bits; use "
                "semantics='jax_x64', or a 32-bit dtype"
            )
    else:
        token = prof.dtype_table(fn)[in_name]
        if token == REFUSE:
            raise DTypeError(
                f"{fn}: {prof.framework} refuses {in_name} input; cast it to an integer dtype "
                "first (for example int32), or use semantics='array_api', which counts bool as "
                "the default integer"
            )
        out = _token_dtype(token, in_name, prof, be)
    if be is None:
        return out, prof.accumulator(fn).get(out, out)
    supported = be.supported_dtypes()
    if out not in supported:
        if be.name == "jax" and out in SIXTY_FOUR_BIT:
            hint = (
                "; enable 64-bit types with jax.config.update('jax_enable_x64', True), or use "
                "semantics='jax' for JAX's own 32-bit rules"
            )
        else:
            hint = "; cast the input or pass a dtype= the backend has"
        what = f"dtype={out}" if dtype is not None else f"the result dtype {out}"
        raise DTypeError(
            f"{fn}: {what} (rules of {prof.framework}, input {in_name}) cannot be held by the "
            f"{be.name} backend as it is configured, which has "
            f"{', '.join(d for d in ALL_DTYPES if d in supported)}{hint}"
        )
    acc = prof.accumulator(fn).get(out, out)
    if acc not in supported:
        acc = out
    return out, be.work_dtype(acc)


def plan(fn: str, semantics: object, be: Backend, native_in: object, dtype: object) -> Plan:
    """The :class:`Plan` for one call signature, cached per backend."""
    cache = be.plan_cache()
    try:
        # type(dtype) first: tuples compare element-wise, so objects of different types are
        # never compared (array_api_strict warns when its dtypes meet NumPy's).
        # The same key as the inlined lookup in unireduce._api.
        key: tuple[Any, ...] | None = (fn, semantics, native_in, type(dtype), dtype)
        hit = cache.get(key)
    except TypeError:  # an unhashable argument: resolve without caching
        key, hit = None, None
    if hit is not None:
        return hit
    prof = profile(fn, semantics)
    in_name = be.dtype_name(native_in)
    if in_name is None:
        raise DTypeError(
            f"{fn}: the input dtype {native_in!r} is not supported; allowed: "
            f"{', '.join(ALL_DTYPES)}"
        )
    out, work = resolve_dtypes(fn, prof, in_name, dtype, be)
    cast_first = work != out and in_name != out and KIND[out] in "fc"
    plain = not (cast_first or work != out)
    result = Plan(
        in_name,
        out,
        work,
        be.native_dtype(out),
        be.native_dtype(work),
        prof,
        cast_first,
        work != out,
        be.full_sum(be.native_dtype(work), in_name == work) if plain else None,
    )
    if key is not None:
        cache[key] = result
    return result


def _as_int(fn: str, value: object, axis: object) -> int:
    if isinstance(value, bool):
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} contains a bool; allowed: None, an int or a tuple of ints"
        )
    ndim = getattr(value, "ndim", 0)
    if ndim != 0:
        # A 1-element torch tensor has __index__, a 1-element NumPy array does not: refuse every
        # 1-D array here alike (profiles that take array axes read them with axis_values).
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} is an array with {ndim} dimension(s); "
            "allowed: None, an int, a 0-d integer array, or a tuple or list of ints"
        )
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} is not an integer or a tuple of integers "
            f"(got {type(value).__name__}); allowed: None, an int, or a tuple or list of ints"
        ) from None


def _check_range(fn: str, a: int, ndim: int) -> int:
    if not -ndim <= a < ndim:
        if ndim == 0:
            raise AxisError(
                f"{fn}: axis {a} is out of bounds for a 0-d array; allowed: axis=None or ()"
            )
        raise AxisError(
            f"{fn}: axis {a} is out of bounds for an array of dimension {ndim}; allowed: "
            f"integers in [{-ndim}, {ndim})"
        )
    return a + ndim if a < 0 else a


def normalize_axes(
    fn: str, axis: object, ndim: int, prof: Profile, be: Backend | None
) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of distinct non-negative ints (``None`` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    scalar = False
    if isinstance(axis, tuple):
        items: tuple[object, ...] = axis
    elif isinstance(axis, list):
        if not prof.list_axis:
            raise UnireduceTypeError(
                f"{fn}: {prof.framework} does not accept a list as axis (got {axis!r}); use a tuple"
            )
        items = tuple(axis)
    elif isinstance(axis, int) and not isinstance(axis, bool):
        items, scalar = (axis,), True
    else:
        values = be.axis_values(axis) if (be is not None and prof.array_axis) else None
        if values is not None:
            items = values
        else:
            items, scalar = (axis,), True
    ints = tuple(_as_int(fn, a, axis) for a in items)
    if not ints:
        return tuple(range(ndim)) if prof.empty_axis == "all" else ()
    # Frameworks that accept an axis on a 0-d input (NumPy, torch) treat it as one axis of length
    # 1: 0 and -1 name it, once; reducing it changes nothing.
    one_axis = ndim == 0 and ("int" if scalar else "tuple") in prof.zero_d_axis
    out = tuple(_check_range(fn, a, 1 if one_axis else ndim) for a in ints)
    if len(set(out)) != len(out):
        raise AxisError(
            f"{fn}: axis={axis!r} names the same axis twice (for an array of dimension {ndim}); "
            "allowed: distinct axes"
        )
    return () if one_axis else tuple(sorted(out))


def cumsum_axis(fn: str, axis: object, ndim: int, prof: Profile) -> int | None:
    """The one axis of a cumulative sum, or ``None`` to flatten first (NumPy's default)."""
    if axis is None:
        policy = prof.default_axis(fn)
        if policy == "flatten":
            return None
        if policy == "zero" or (policy == "required_if_ndim_gt_1" and ndim == 1):
            return 0
        if policy == "required":
            raise AxisError(f"{fn}: {prof.framework} requires an axis; pass axis=0 for example")
        raise AxisError(
            f"{fn}: axis is required for a {ndim}-D input (it may be omitted only for 1-D "
            f"input); pass an int in [{-ndim}, {ndim}), or reshape to 1-D to accumulate over "
            "every element"
        )
    if isinstance(axis, tuple) and len(axis) == 1 and fn in prof.one_tuple_axis:
        axis = axis[0]
    if isinstance(axis, (tuple, list)):
        raise UnireduceTypeError(
            f"{fn}: axis={axis!r} must be a single int, not a {type(axis).__name__}; a "
            "cumulative sum runs along one axis"
        )
    return _check_range(fn, _as_int(fn, axis, axis), ndim)
